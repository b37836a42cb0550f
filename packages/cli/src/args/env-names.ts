import { printable } from "../printable.js";
import { COMMANDS, envNameOf } from "./flags.js";

/**
 * CREDBRIDGE_* variables the repository's own scripts and tests read (the test
 * matrix, the image build, the registry archive): never the CLI's, and never
 * worth a warning in a developer's shell.
 */
export const REPOSITORY_VARIABLES: readonly string[] = [
  "CREDBRIDGE_TEST_NODES",
  "CREDBRIDGE_DISTRIBUTION_ARCHIVE",
  "CREDBRIDGE_IMAGE_OUT",
  "CREDBRIDGE_IMAGE_REVISION",
  "CREDBRIDGE_IMAGE_LOCKED",
  "CREDBRIDGE_UPDATE_FIXTURES",
];

/**
 * Every CREDBRIDGE_* variable some command reads: one per flag of any command,
 * so the sidecar's own variables are known to `doctor` run beside it. `--help`
 * has none (a variable that asked every command for its usage would be a trap).
 */
export const knownVariables = (): Set<string> =>
  new Set(
    Object.values(COMMANDS).flatMap((c) =>
      Object.keys(c.flags)
        .filter((flag) => flag !== "help")
        .map(envNameOf),
    ),
  );

/** A typo is one or two edits; three still reads as the same name. Further off, no name is offered. */
const MAX_TYPO = 3;

/**
 * The edit distance (insertions, deletions, substitutions, adjacent swaps) when it is at most
 * `max`, else undefined. Names whose lengths differ by more are not compared at all, and a row
 * whose every cell exceeds `max` ends the work (a row's minimum never falls): a 100 000-character
 * name costs nothing, a typo a few hundred cells.
 */
export const distanceWithin = (a: string, b: string, max: number): number | undefined => {
  if (Math.abs(a.length - b.length) > max) return undefined;
  let before = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  let row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    row[0] = i;
    let least = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, before[j - 2]! + 1);
      row[j] = best;
      least = Math.min(least, best);
    }
    if (least > max) return undefined;
    [before, previous, row] = [previous, row, before];
  }
  const d = previous[b.length]!;
  return d <= max ? d : undefined;
};

/** The known name nearest `name`, when it is a typo of one. */
const closestKnown = (name: string, known: readonly string[]): string | undefined => {
  let best: { name: string; d: number } | undefined;
  for (const k of known) {
    const d = distanceWithin(name, k, best ? best.d - 1 : MAX_TYPO);
    if (d !== undefined) best = { name: k, d };
  }
  return best?.name;
};

/** Longer names are shown cut, with their length: a variable's name is anyone's to make up. */
const SHOWN_NAME_MAX = 64;

/** A name as logs show it: cut to {@link SHOWN_NAME_MAX} characters, its control characters escaped. */
export const shownName = (name: string): string =>
  printable(
    name.length > SHOWN_NAME_MAX ? `${name.slice(0, SHOWN_NAME_MAX)}… (${name.length} characters)` : name,
  );

export interface UnknownVariable {
  /** As logs show it ({@link shownName}). */
  name: string;
  /** The known variable it is a typo of, the likely intended one (none for CREDBRIDGE_HELP). */
  closest?: string;
}

export interface UnknownVariables {
  /** The first {@link MAX_LISTED} by name. */
  listed: UnknownVariable[];
  /** How many more there are, unnamed: thousands of lines would bury the log's first. */
  unlisted: number;
}

/** One line naming the variable and what was likely meant. */
export const describeUnknown = (v: UnknownVariable): string =>
  v.closest
    ? `${v.name} is not a credbridge variable and is ignored; did you mean ${v.closest}?`
    : v.name === envNameOf("help")
      ? `${v.name} is not a credbridge variable and is ignored: --help is a flag only`
      : `${v.name} is not a credbridge variable and is ignored`;

/** The line after the listed ones, when some are not. */
export const describeUnlisted = (unlisted: number): string =>
  `and ${unlisted} more CREDBRIDGE_* variable${unlisted === 1 ? "" : "s"} no command reads, not listed`;

/** Every command pays for this check, `process` on each call: listed names are few, each cheap. */
const MAX_LISTED = 20;

let knownCache: { set: Set<string>; list: string[] } | undefined;

/**
 * The CREDBRIDGE_* variables in `env` that no command reads: a typo such as
 * CREDBRIDGE_METRIC is otherwise ignored in silence, and the sidecar starts
 * without the output it was meant to have.
 */
export const unknownVariables = (env: Readonly<Record<string, string | undefined>>): UnknownVariables => {
  knownCache ??= (() => {
    const set = knownVariables();
    return { set, list: [...set] };
  })();
  const known = knownCache;
  const repository = new Set(REPOSITORY_VARIABLES);
  const names = Object.keys(env)
    .filter(
      (name) =>
        name.startsWith("CREDBRIDGE_") &&
        env[name] !== undefined &&
        !known.set.has(name) &&
        !repository.has(name),
    )
    .sort();
  return {
    listed: names.slice(0, MAX_LISTED).map((name) => {
      const closest = name === envNameOf("help") ? undefined : closestKnown(name, known.list);
      return closest ? { name: shownName(name), closest } : { name: shownName(name) };
    }),
    unlisted: Math.max(0, names.length - MAX_LISTED),
  };
};
