import { posix } from "node:path";
import { parseAssumeRole } from "../args/assume-role.js";

/** The annotations the webhook reads; any other `credbridge.io/` key is refused, as a typo would be. */
export const ANNOTATIONS = {
  inject: "credbridge.io/inject",
  outputs: "credbridge.io/outputs",
  credentialsPath: "credbridge.io/credentials-path",
  fileOwner: "credbridge.io/file-owner",
  selfAssume: "credbridge.io/self-assume",
  assumeRole: "credbridge.io/assume-role",
  containers: "credbridge.io/containers",
} as const;

const PREFIX = "credbridge.io/";
const KNOWN = new Set<string>(Object.values(ANNOTATIONS));

export const OUTPUTS = ["file", "imds", "container"] as const;
export type Output = (typeof OUTPUTS)[number];

/** Where the app finds the credentials file when `credentials-path` is not given. */
export const DEFAULT_CREDENTIALS_PATH = "/var/run/credbridge/credentials";

/** What one pod asked for, parsed once from its annotations. */
export interface InjectConfig {
  /** In the order given, without repeats; `["file"]` by default. */
  outputs: readonly Output[];
  /** The credentials file's absolute path, the same in the sidecar and the apps. */
  credentialsPath: string;
  /** Numeric owner of the credentials file: the sidecar runs as this user. */
  fileOwner: { uid: number; gid: number } | undefined;
  selfAssume: boolean;
  /** `ARN[,external-id=ID][,session-name=NAME][,duration=SECONDS]`, one per hop. */
  assumeRoles: readonly string[];
  /** App containers to give credentials to; undefined means all of them. */
  containers: readonly string[] | undefined;
}

/** Annotations that cannot be honoured; the message names each annotation and what it accepts. */
export class AnnotationError extends Error {
  override name = "AnnotationError";
  constructor(readonly problems: readonly string[]) {
    super(problems.join("; "));
  }
}

const BOOLEAN = new Set(["true", "false"]);

const parseBoolean = (key: string, value: string, problems: string[]): boolean => {
  if (BOOLEAN.has(value)) return value === "true";
  problems.push(`${key} must be "true" or "false", got "${value}"`);
  return false;
};

const commaList = (value: string): string[] =>
  value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

const parseOutputs = (value: string | undefined, problems: string[]): Output[] => {
  if (value === undefined) return ["file"];
  const items = commaList(value);
  const bad = items.filter((o) => !(OUTPUTS as readonly string[]).includes(o));
  if (items.length === 0 || bad.length > 0) {
    problems.push(
      `${ANNOTATIONS.outputs} must be a comma-separated list of ${OUTPUTS.join(", ")}; got "${value}"`,
    );
    return ["file"];
  }
  return [...new Set(items as Output[])];
};

const parseCredentialsPath = (value: string | undefined, problems: string[]): string => {
  if (value === undefined) return DEFAULT_CREDENTIALS_PATH;
  const ok =
    posix.isAbsolute(value) &&
    posix.normalize(value) === value &&
    !value.endsWith("/") &&
    posix.dirname(value) !== "/" &&
    !/[\s"'\\]/.test(value);
  if (!ok) {
    problems.push(
      `${ANNOTATIONS.credentialsPath} must be an absolute, normalized file path below a directory (e.g. /home/app/.aws/credentials); got "${value}"`,
    );
  }
  return value;
};

const parseFileOwner = (value: string | undefined, problems: string[]) => {
  if (value === undefined) return undefined;
  const m = /^(\d+):(\d+)$/.exec(value);
  if (!m || Number(m[1]) === 0) {
    problems.push(
      `${ANNOTATIONS.fileOwner} must be a numeric non-root UID:GID like 10000:10000; got "${value}"`,
    );
    return undefined;
  }
  return { uid: Number(m[1]), gid: Number(m[2]) };
};

const parseAssumeRoles = (value: string | undefined, problems: string[]): string[] => {
  if (value === undefined) return [];
  // The repeatable flag's env form: one hop per whitespace-separated entry.
  const hops = value.split(/\s+/).filter(Boolean);
  if (hops.length === 0) problems.push(`${ANNOTATIONS.assumeRole} needs at least one role ARN`);
  for (const hop of hops) {
    try {
      parseAssumeRole(hop, "webhook", ANNOTATIONS.assumeRole);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  return hops;
};

const parseContainers = (
  value: string | undefined,
  present: readonly string[],
  problems: string[],
): string[] | undefined => {
  if (value === undefined) return undefined;
  const names = commaList(value);
  const missing = names.filter((n) => !present.includes(n));
  if (names.length === 0 || missing.length > 0) {
    problems.push(
      `${ANNOTATIONS.containers} must list containers of this pod (${present.join(", ")}); got "${value}"`,
    );
  }
  return names;
};

/**
 * Reads a pod's `credbridge.io/*` annotations. Undefined when the pod does not
 * ask for injection (no `credbridge.io/inject`, or "false"); throws an
 * `AnnotationError` naming every annotation it cannot honour otherwise, so the
 * pod is refused rather than started without credentials.
 */
export const parseInjectConfig = (
  annotations: Readonly<Record<string, string>> | undefined,
  containerNames: readonly string[],
): InjectConfig | undefined => {
  const a = annotations ?? {};
  const inject = a[ANNOTATIONS.inject];
  if (inject === undefined) return undefined;
  const problems: string[] = [];
  if (!parseBoolean(ANNOTATIONS.inject, inject, problems) && problems.length === 0) return undefined;
  for (const key of Object.keys(a)) {
    if (key.startsWith(PREFIX) && !KNOWN.has(key)) {
      problems.push(`unknown annotation ${key}; credbridge reads ${[...KNOWN].join(", ")}`);
    }
  }
  const selfAssume = a[ANNOTATIONS.selfAssume];
  const config: InjectConfig = {
    outputs: parseOutputs(a[ANNOTATIONS.outputs], problems),
    credentialsPath: parseCredentialsPath(a[ANNOTATIONS.credentialsPath], problems),
    fileOwner: parseFileOwner(a[ANNOTATIONS.fileOwner], problems),
    selfAssume: selfAssume !== undefined && parseBoolean(ANNOTATIONS.selfAssume, selfAssume, problems),
    assumeRoles: parseAssumeRoles(a[ANNOTATIONS.assumeRole], problems),
    containers: parseContainers(a[ANNOTATIONS.containers], containerNames, problems),
  };
  if (problems.length > 0) throw new AnnotationError(problems);
  return config;
};
