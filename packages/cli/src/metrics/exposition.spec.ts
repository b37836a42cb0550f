import { describe, expect, it } from "vitest";
import { createExposition, formatValue, labelPairs } from "./exposition.js";
import { createHistogram } from "./histogram.js";

describe("the text exposition", () => {
  it("writes each family's HELP and TYPE once, its samples together, whatever order contributors add them in", () => {
    const out = createExposition();
    for (const profile of ["reader", "writer"]) {
      out.add("x_total", "counter", "X.", labelPairs({ profile }), 1);
      out.add("y", "gauge", "Y.", labelPairs({ profile }), 2);
    }
    expect(out.render()).toBe(
      [
        "# HELP x_total X.",
        "# TYPE x_total counter",
        'x_total{profile="reader"} 1',
        'x_total{profile="writer"} 1',
        "# HELP y Y.",
        "# TYPE y gauge",
        'y{profile="reader"} 2',
        'y{profile="writer"} 2',
        "",
      ].join("\n"),
    );
  });

  it("refuses one name as two types", () => {
    const out = createExposition();
    out.add("z", "gauge", "Z.", "", 1);
    expect(() => out.add("z", "counter", "Z.", "", 1)).toThrow(/z added as counter, already a gauge/);
  });

  it("escapes label values and writes special values as Prometheus reads them", () => {
    expect(labelPairs({ path: 'a "b"\\c\nd' })).toBe('path="a \\"b\\"\\\\c\\nd"');
    expect([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1.5].map(formatValue)).toEqual([
      "NaN",
      "+Inf",
      "-Inf",
      "1.5",
    ]);
  });

  it("writes a histogram's buckets cumulatively, +Inf equal to the count, with sum and count", () => {
    const h = createHistogram([0.1, 1]);
    for (const v of [0.05, 0.1, 0.5, 3]) h.observe(v);
    const out = createExposition();
    out.histogram("d_seconds", "D.", 'result="success"', h.snapshot());
    expect(out.render().split("\n").slice(2, -1)).toEqual([
      'd_seconds_bucket{result="success",le="0.1"} 2',
      'd_seconds_bucket{result="success",le="1"} 3',
      'd_seconds_bucket{result="success",le="+Inf"} 4',
      'd_seconds_sum{result="success"} 3.65',
      'd_seconds_count{result="success"} 4',
    ]);
    expect(() => createHistogram([1, 1])).toThrow(/ascend/);
  });
});
