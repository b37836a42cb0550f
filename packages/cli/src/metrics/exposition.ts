import type { HistogramSnapshot } from "./histogram.js";

/** Prometheus' metric types, as `# TYPE` names them. */
export type MetricType = "counter" | "gauge" | "histogram";

/** Escapes a label value for the text format (backslash, double quote, line feed). */
export const escapeLabelValue = (v: string): string =>
  v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");

/**
 * `a="x",b="y"`, escaped, without braces; "" for none. Callers that render
 * the same set on every scrape build it once.
 */
export const labelPairs = (labels: Readonly<Record<string, string>>): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
    .join(",");

/** Joins two rendered label sets. */
export const joinPairs = (a: string, b: string): string => (a === "" ? b : b === "" ? a : `${a},${b}`);

/** A sample value as the text format writes it. */
export const formatValue = (n: number): string => {
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "+Inf";
  if (n === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(n);
};

interface Family {
  type: MetricType;
  help: string;
  lines: string[];
}

/**
 * One scrape's text, built by whatever contributes samples: each family's
 * HELP and TYPE once and its samples together, in the order families were
 * first seen, however many contributors (one engine per profile) add to one.
 */
export const createExposition = () => {
  const families = new Map<string, Family>();
  const familyOf = (name: string, type: MetricType, help: string): Family => {
    let family = families.get(name);
    if (family === undefined) {
      family = { type, help, lines: [] };
      families.set(name, family);
    } else if (family.type !== type) {
      throw new Error(`metric ${name} added as ${type}, already a ${family.type}`);
    }
    return family;
  };
  const sample = (family: Family, name: string, pairs: string, value: number) => {
    family.lines.push(`${name}${pairs === "" ? "" : `{${pairs}}`} ${formatValue(value)}`);
  };
  return {
    /** Declares a family with no sample yet (so HELP and TYPE are there, and its samples keep this place). */
    declare(name: string, type: MetricType, help: string): void {
      familyOf(name, type, help);
    },
    /** A counter or gauge sample; `pairs` from `labelPairs`. */
    add(name: string, type: "counter" | "gauge", help: string, pairs: string, value: number): void {
      sample(familyOf(name, type, help), name, pairs, value);
    },
    /** A histogram's buckets (cumulative, `+Inf` last), sum and count. */
    histogram(name: string, help: string, pairs: string, h: HistogramSnapshot): void {
      const family = familyOf(name, "histogram", help);
      h.buckets.forEach((le, i) => {
        sample(family, `${name}_bucket`, joinPairs(pairs, `le="${formatValue(le)}"`), h.cumulative[i]!);
      });
      sample(family, `${name}_bucket`, joinPairs(pairs, 'le="+Inf"'), h.count);
      sample(family, `${name}_sum`, pairs, h.sum);
      sample(family, `${name}_count`, pairs, h.count);
    },
    render(): string {
      const out: string[] = [];
      for (const [name, f] of families) {
        out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`, ...f.lines);
      }
      return `${out.join("\n")}\n`;
    },
  };
};

export type Exposition = ReturnType<typeof createExposition>;
