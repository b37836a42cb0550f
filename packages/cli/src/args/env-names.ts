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

/** Edit distance (insertions, deletions, substitutions, adjacent swaps): a typo is one or two. */
const distance = (a: string, b: string): number => {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
};

export interface UnknownVariable {
  name: string;
  /** The known variable nearest to it, the likely intended one (none for CREDBRIDGE_HELP). */
  closest?: string;
}

/** One line naming the variable and what was likely meant. */
export const describeUnknown = (v: UnknownVariable): string =>
  v.closest
    ? `${v.name} is not a credbridge variable and is ignored; did you mean ${v.closest}?`
    : `${v.name} is not a credbridge variable and is ignored: --help is a flag only`;

/**
 * The CREDBRIDGE_* variables in `env` that no command reads: a typo such as
 * CREDBRIDGE_METRIC is otherwise ignored in silence, and the sidecar starts
 * without the output it was meant to have.
 */
export const unknownVariables = (env: Readonly<Record<string, string | undefined>>): UnknownVariable[] => {
  const known = [...knownVariables()];
  return Object.keys(env)
    .filter(
      (name) =>
        name.startsWith("CREDBRIDGE_") &&
        env[name] !== undefined &&
        !known.includes(name) &&
        !REPOSITORY_VARIABLES.includes(name),
    )
    .sort()
    .map((name) =>
      name === envNameOf("help")
        ? { name }
        : { name, closest: known.reduce((best, k) => (distance(name, k) < distance(name, best) ? k : best)) },
    );
};
