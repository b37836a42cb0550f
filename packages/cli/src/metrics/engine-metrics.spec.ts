import { CredbridgeError, ERROR_CLASSES, refreshing } from "@credbridge/core";
import { manualRuntime } from "@credbridge/core/testing";
import type { AwsCredentialIdentity } from "@smithy/types";
import { describe, expect, it } from "vitest";
import { createEngineMetrics } from "./engine-metrics.js";
import { createExposition } from "./exposition.js";

const MIN = 60_000;

/** An engine on a manual clock over a source the test makes fail or succeed, with its metrics. */
const setup = (labels?: Record<string, string>) => {
  const fake = manualRuntime({ random: 0 });
  let failWith: Error | undefined;
  let hanging = false;
  let n = 0;
  let lifetime = 60 * MIN;
  const source = async (): Promise<AwsCredentialIdentity> => {
    n++;
    if (hanging) return new Promise<AwsCredentialIdentity>(() => {});
    if (failWith) throw failWith;
    return { accessKeyId: `ASIA${n}`, secretAccessKey: "s", expiration: new Date(fake.now() + lifetime) };
  };
  const engine = refreshing(source, {
    runtime: fake.runtime,
    attemptTimeoutSeconds: 30,
    minRemainingSeconds: 300,
  });
  const metrics = createEngineMetrics(
    engine,
    { minRemainingSeconds: 300, monotonicNow: fake.runtime.monotonicNow },
    labels,
  );
  engine.subscribe(metrics.onRefresh);
  const scrape = () => {
    const out = createExposition();
    metrics.collect(out);
    const text = out.render();
    const value = (series: string): number | undefined => {
      const line = text.split("\n").find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    return { text, value };
  };
  return {
    fake,
    engine,
    scrape,
    fail: (e: Error | undefined) => {
      failWith = e;
    },
    hang: () => {
      hanging = true;
    },
    sessions: (ms: number) => {
      lifetime = ms;
    },
  };
};

describe("the refresh engine's metrics", () => {
  it("expose the moment of expiry, the margin and the refresh timeout, for rules to compute time left with time()", async () => {
    const { fake, engine, scrape } = setup();
    expect(scrape().text).not.toMatch(/^credbridge_credentials_expiration_timestamp_seconds /m);
    await engine();
    const s = scrape();
    expect(s.value("credbridge_credentials_expiration_timestamp_seconds")).toBe(
      (fake.now() + 60 * MIN) / 1000,
    );
    expect(s.value("credbridge_min_remaining_seconds")).toBe(300);
    expect(s.value("credbridge_refresh_timeout_seconds")).toBe(30);
    // The engine's default mandatory window (600 s), which an hour-long session holds whole.
    expect(s.value("credbridge_mandatory_window_seconds")).toBe(600);
    expect(s.value("credbridge_refreshes_total")).toBe(1);
    expect(s.value("credbridge_refresh_last_success_timestamp_seconds")).toBe(fake.now() / 1000);
  });

  it("count failures by class (every class there from the start, at 0), and while failing say for how long and the latest class", async () => {
    const { fake, engine, scrape, fail } = setup();
    const before = scrape().text;
    for (const c of ERROR_CLASSES)
      expect(before).toContain(`credbridge_refresh_failures_total{class="${c}"} 0\n`);
    expect(before).not.toMatch(/^credbridge_refresh_failing_seconds /m);

    fail(
      new CredbridgeError("STS says no", { code: "ERR_STS", serviceCode: "AccessDenied", statusCode: 403 }),
    );
    await engine().catch(() => {});
    await fake.advance(10_000);
    fail(new CredbridgeError("slow down", { code: "ERR_STS", serviceCode: "Throttling", statusCode: 400 }));
    await engine().catch(() => {});
    let s = scrape();
    expect(s.value('credbridge_refresh_failures_total{class="AccessDenied"}')).toBe(1);
    expect(s.value('credbridge_refresh_failures_total{class="Throttling"}')).toBe(1);
    expect(s.value("credbridge_refresh_consecutive_failures")).toBe(2);
    // The run began at the first failure; the class is the latest one's, and only it is there.
    expect(s.value("credbridge_refresh_failing_seconds")).toBe(10);
    expect(s.text.match(/^credbridge_refresh_last_error_info\{.*$/gm)).toEqual([
      'credbridge_refresh_last_error_info{class="Throttling"} 1',
    ]);
    // Nothing of the error's text is anywhere in the scrape.
    expect(s.text).not.toMatch(/STS says no|slow down/);

    fail(undefined);
    await fake.advance(60_000);
    await engine();
    s = scrape();
    expect(s.value("credbridge_refresh_consecutive_failures")).toBe(0);
    expect(s.text).not.toMatch(/^credbridge_refresh_failing_seconds /m);
    expect(s.text).not.toMatch(/^credbridge_refresh_last_error_info\{/m);
    expect(s.value('credbridge_refresh_failures_total{class="Throttling"}')).toBe(1);
  });

  it("measure how long refreshes have failed on the monotonic clock: a wall clock minutes off, or stepped, changes nothing", async () => {
    const { fake, engine, scrape, fail } = setup();
    fail(new Error("no route to STS"));
    // The sidecar's wall clock five minutes behind when the run begins, then stepped ten minutes ahead.
    fake.jump(-5 * MIN);
    await engine().catch(() => {});
    expect(scrape().value("credbridge_refresh_failing_seconds")).toBe(0);
    await fake.advance(30_000);
    fake.jump(15 * MIN);
    await fake.advance(30_000);
    expect(scrape().value("credbridge_refresh_failing_seconds")).toBe(60);
  });

  it("export the mandatory window of the credentials held, shrunk as the engine shrinks it for a short session", async () => {
    const { engine, scrape, sessions } = setup();
    expect(scrape().text).not.toMatch(/^credbridge_mandatory_window_seconds /m);
    // Ten minutes, five of them above the 300 s margin: the engine blocks callers from a
    // quarter of that usable life before the margin, 375 s before expiry, not 600.
    sessions(10 * MIN);
    await engine();
    expect(scrape().value("credbridge_mandatory_window_seconds")).toBe(375);
  });

  it("record each refresh's duration by result, a refresh given up at the timeout counting the timeout", async () => {
    const { fake, engine, scrape, hang } = setup();
    await engine();
    hang();
    await fake.advance(40 * MIN);
    const refresh = engine.refresh().catch(() => {});
    await fake.advance(30_000);
    await refresh;
    const s = scrape();
    expect(s.value('credbridge_refresh_duration_seconds_count{result="success"}')).toBe(1);
    expect(s.value('credbridge_refresh_duration_seconds_count{result="failure"}')).toBe(1);
    expect(s.value('credbridge_refresh_duration_seconds_sum{result="failure"}')).toBe(30);
    expect(s.value('credbridge_refresh_duration_seconds_bucket{result="failure",le="10"}')).toBe(0);
    expect(s.value('credbridge_refresh_duration_seconds_bucket{result="failure",le="30"}')).toBe(1);
    expect(s.value('credbridge_refresh_failures_total{class="timeout"}')).toBe(1);
  });

  it("put the given labels on every series, so a profile label can be added without renaming anything", async () => {
    const { engine, scrape } = setup({ profile: "reader" });
    await engine();
    const samples = scrape()
      .text.split("\n")
      .filter((l) => l !== "" && !l.startsWith("#"));
    expect(samples.length).toBeGreaterThan(30);
    for (const line of samples) expect(line).toMatch(/\{profile="reader"[,}]/);
  });
});
