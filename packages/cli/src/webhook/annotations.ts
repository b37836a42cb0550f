import { posix } from "node:path";
import type { RoleHop } from "@credbridge/core";
import { DEFAULT_MIN_REMAINING_SECONDS, ROLE_CHAINING_MAX_SECONDS } from "@credbridge/core";
import { parseAssumeRole } from "../args/assume-role.js";
import { parseProfiles } from "../args/profiles.js";
import { checkSessionOutlivesMargin } from "../margin.js";
import { CONTAINER_TOKEN_FILE_NAME } from "./inject.js";

/** The annotations the webhook reads; any other `credbridge.io/` key is refused, as a typo would be. */
export const ANNOTATIONS = {
  inject: "credbridge.io/inject",
  outputs: "credbridge.io/outputs",
  credentialsPath: "credbridge.io/credentials-path",
  fileOwner: "credbridge.io/file-owner",
  selfAssume: "credbridge.io/self-assume",
  assumeRole: "credbridge.io/assume-role",
  profiles: "credbridge.io/profiles",
  containers: "credbridge.io/containers",
  /** Set by the webhook on every pod it injects (`injected`): its own containers are then the ones of its names. */
  status: "credbridge.io/status",
} as const;

/** The value of `credbridge.io/status` on an injected pod. */
export const INJECTED = "injected";

/**
 * The most containers (app and init) a pod may have to be injected, and the
 * most names `credbridge.io/containers` may list. Kubernetes sets no limit;
 * these keep the work per review small whatever a pod author sends.
 */
export const MAX_CONTAINERS = 128;
/** The most hops `credbridge.io/assume-role` may name (STS chains sessions of an hour at most anyway). */
export const MAX_ASSUME_ROLE_HOPS = 10;

/** The most named profiles `credbridge.io/profiles` may add: each is an engine and a section. */
export const MAX_ANNOTATED_PROFILES = 16;
/** The most hops (words) it may hold across its profiles. */
export const MAX_ANNOTATED_PROFILE_HOPS = 4 * MAX_ANNOTATED_PROFILES;

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
  /**
   * Named profiles, `NAME=ARN[,external-id=ID][,session-name=NAME][,duration=SECONDS]`
   * one per hop (serve's --profile-assume-role); absent without the annotation.
   */
  profiles?: readonly string[];
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
  problems.push(`${key} must be "true" or "false", got ${quoted(value)}`);
  return false;
};

/** A value as a message quotes it: cut short, so a megabyte annotation makes no megabyte message. */
const quoted = (value: string): string =>
  JSON.stringify(value.length > 120 ? `${value.slice(0, 100)}…` : value) +
  (value.length > 120 ? ` (${value.length} characters)` : "");

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
      `${ANNOTATIONS.outputs} must be a comma-separated list of ${OUTPUTS.join(", ")}; got ${quoted(value)}`,
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
      `${ANNOTATIONS.credentialsPath} must be an absolute, normalized file path below a directory (e.g. /home/app/.aws/credentials); got ${quoted(value)}`,
    );
  }
  return value;
};

const parseFileOwner = (value: string | undefined, problems: string[]) => {
  if (value === undefined) return undefined;
  const m = /^(\d+):(\d+)$/.exec(value);
  if (!m || Number(m[1]) === 0) {
    problems.push(
      `${ANNOTATIONS.fileOwner} must be a numeric non-root UID:GID like 10000:10000; got ${quoted(value)}`,
    );
    return undefined;
  }
  return { uid: Number(m[1]), gid: Number(m[2]) };
};

/**
 * The sidecar runs with the default --min-remaining, which a chain's last hop must
 * outlive (serve refuses it at start otherwise, and the pod would crash-loop): the
 * same check, on the session that hop asks for (chained, so an hour at most).
 */
const lastHopOutlivesMargin = (key: string, hop: RoleHop | undefined, problems: string[]): void => {
  if (hop?.durationSeconds === undefined) return;
  try {
    checkSessionOutlivesMargin(
      {
        seconds: Math.min(hop.durationSeconds, ROLE_CHAINING_MAX_SECONDS),
        setBy: `${hop.roleArn},duration=${hop.durationSeconds}`,
      },
      DEFAULT_MIN_REMAINING_SECONDS,
      "webhook",
    );
  } catch (error) {
    problems.push(`${key}: ${(error as Error).message}`);
  }
};

const parseAssumeRoles = (value: string | undefined, problems: string[]): string[] => {
  if (value === undefined) return [];
  // The repeatable flag's env form: one hop per whitespace-separated entry.
  const hops = value.split(/\s+/).filter(Boolean);
  if (hops.length === 0) problems.push(`${ANNOTATIONS.assumeRole} needs at least one role ARN`);
  if (hops.length > MAX_ASSUME_ROLE_HOPS) {
    problems.push(
      `${ANNOTATIONS.assumeRole} names ${hops.length} hops; it takes at most ${MAX_ASSUME_ROLE_HOPS}`,
    );
    return hops;
  }
  let last: RoleHop | undefined;
  for (const hop of hops) {
    // An ARN (2048), an external id (1224) and a session name (64) fit well within this.
    if (hop.length > 4096) {
      problems.push(
        `${ANNOTATIONS.assumeRole}: a hop of ${hop.length} characters is no role ARN with its options`,
      );
      continue;
    }
    try {
      last = parseAssumeRole(hop, "webhook", ANNOTATIONS.assumeRole);
    } catch (error) {
      problems.push((error as Error).message);
      last = undefined;
    }
  }
  lastHopOutlivesMargin(ANNOTATIONS.assumeRole, last, problems);
  return hops;
};

/**
 * `credbridge.io/profiles`: extra named profiles, as serve's
 * CREDBRIDGE_PROFILE_ASSUME_ROLE takes them (`reader=arn:… replica=arn:…`),
 * each hop's role checked as a role ARN, the count bounded.
 */
const parseProfileWords = (value: string, problems: string[]): string[] => {
  const key = ANNOTATIONS.profiles;
  const words = value.split(/\s+/).filter(Boolean);
  if (words.length === 0) {
    problems.push(`${key} needs at least one NAME=ROLE-ARN`);
    return words;
  }
  if (words.length > MAX_ANNOTATED_PROFILE_HOPS) {
    problems.push(`${key} names ${words.length} hops; it takes at most ${MAX_ANNOTATED_PROFILE_HOPS}`);
    return words;
  }
  const long = words.find((w) => w.length > 4096);
  if (long !== undefined) {
    problems.push(
      `${key}: a hop of ${long.length} characters is no profile name and role ARN with its options`,
    );
    return words;
  }
  try {
    const profiles = parseProfiles(words, "webhook", ["default"]);
    if (profiles.length > MAX_ANNOTATED_PROFILES) {
      problems.push(`${key} names ${profiles.length} profiles; it takes at most ${MAX_ANNOTATED_PROFILES}`);
    }
    for (const p of profiles) {
      if (p.hops.length > MAX_ASSUME_ROLE_HOPS) {
        problems.push(
          `${key} ${p.name} names ${p.hops.length} hops; a profile takes at most ${MAX_ASSUME_ROLE_HOPS}, as ${ANNOTATIONS.assumeRole}`,
        );
      } else lastHopOutlivesMargin(`${key} ${p.name}`, p.hops.at(-1), problems);
    }
  } catch (error) {
    problems.push(`${key}: ${(error as Error).message}`);
  }
  return words;
};

const parseContainers = (
  value: string | undefined,
  present: readonly string[],
  problems: string[],
): string[] | undefined => {
  if (value === undefined) return undefined;
  const names = [...new Set(commaList(value))];
  if (names.length > MAX_CONTAINERS) {
    problems.push(
      `${ANNOTATIONS.containers} lists ${names.length} names; it takes at most ${MAX_CONTAINERS}`,
    );
    return names;
  }
  const known = new Set(present);
  if (names.length === 0 || names.some((n) => !known.has(n))) {
    // Container names are not validated before mutating webhooks run: each may be long.
    const first = present
      .slice(0, 10)
      .map((n) => (n.length > 120 ? quoted(n) : n))
      .join(", ");
    const listed = present.length > 10 ? `${first}, …` : first;
    problems.push(
      `${ANNOTATIONS.containers} must list containers of this pod (${listed}); got ${quoted(value)}`,
    );
  }
  return names;
};

/** How many unknown keys a denial names; the rest are counted. */
export const UNKNOWN_NAMED = 3;

/**
 * The unknown `credbridge.io/` keys as one problem: the first few named, the
 * rest counted, so a pod of 100 000 such keys makes a denial of a few hundred
 * characters, not megabytes.
 */
const unknownAnnotations = (a: Readonly<Record<string, string>>): string | undefined => {
  const named: string[] = [];
  let count = 0;
  for (const key of Object.keys(a)) {
    if (!key.startsWith(PREFIX) || KNOWN.has(key)) continue;
    count++;
    if (named.length < UNKNOWN_NAMED) named.push(quoted(key));
  }
  if (count === 0) return undefined;
  const more = count > named.length ? ` and ${count - named.length} more` : "";
  return `unknown annotation${count > 1 ? "s" : ""} ${named.join(", ")}${more}; credbridge reads ${[...KNOWN].join(", ")}`;
};

/** Annotations that each hold but cannot hold together. */
const combinationProblems = (config: InjectConfig, a: Readonly<Record<string, string>>): string[] => {
  const problems: string[] = [];
  if (config.containers !== undefined && config.outputs.includes("imds")) {
    // The address init container puts 169.254.169.254 on the pod's loopback, which every container shares.
    problems.push(
      `${ANNOTATIONS.containers} cannot hold with ${ANNOTATIONS.outputs} "imds": every container in the pod reaches the metadata address, so the containers left out would get the role through their SDK's IMDS fallback; remove ${ANNOTATIONS.containers} or the imds output`,
    );
  }
  if (
    config.outputs.includes("file") &&
    config.outputs.includes("container") &&
    posix.basename(config.credentialsPath) === CONTAINER_TOKEN_FILE_NAME
  ) {
    problems.push(
      `${ANNOTATIONS.credentialsPath} ${quoted(config.credentialsPath)} is where the container endpoint's token file goes with ${ANNOTATIONS.outputs} "file,container" (${CONTAINER_TOKEN_FILE_NAME} beside the credentials file); name the credentials file otherwise`,
    );
  }
  if (config.fileOwner && !config.outputs.includes("file") && !config.outputs.includes("container")) {
    // serve refuses --file-owner with no file to give: the sidecar would never start.
    problems.push(
      `${ANNOTATIONS.fileOwner} has no file to own with ${ANNOTATIONS.outputs} "${config.outputs.join(",")}": it applies to the credentials file and the container endpoint's token file; remove it`,
    );
  }
  if (
    config.profiles !== undefined &&
    !config.outputs.includes("file") &&
    !config.outputs.includes("container")
  ) {
    // IMDS serves the default profile alone: the named ones would be fetched, and hold /readyz, for nobody.
    problems.push(
      `${ANNOTATIONS.profiles} has no output to serve its profiles with ${ANNOTATIONS.outputs} "${config.outputs.join(",")}": IMDS serves one role, the default profile's; add "file" (a section per profile) or "container" (a path per profile) to ${ANNOTATIONS.outputs}, or remove ${ANNOTATIONS.profiles}`,
    );
  }
  const status = a[ANNOTATIONS.status];
  if (status !== undefined && status !== INJECTED) {
    problems.push(`${ANNOTATIONS.status} is set by the webhook ("${INJECTED}"); remove it from the pod`);
  }
  return problems;
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
  const unknown = unknownAnnotations(a);
  if (unknown) problems.push(unknown);
  const selfAssume = a[ANNOTATIONS.selfAssume];
  const config: InjectConfig = {
    outputs: parseOutputs(a[ANNOTATIONS.outputs], problems),
    credentialsPath: parseCredentialsPath(a[ANNOTATIONS.credentialsPath], problems),
    fileOwner: parseFileOwner(a[ANNOTATIONS.fileOwner], problems),
    selfAssume: selfAssume !== undefined && parseBoolean(ANNOTATIONS.selfAssume, selfAssume, problems),
    assumeRoles: parseAssumeRoles(a[ANNOTATIONS.assumeRole], problems),
    containers: parseContainers(a[ANNOTATIONS.containers], containerNames, problems),
  };
  const profiles = a[ANNOTATIONS.profiles];
  if (profiles !== undefined) config.profiles = parseProfileWords(profiles, problems);
  if (problems.length === 0) problems.push(...combinationProblems(config, a));
  if (problems.length > 0) throw new AnnotationError(problems);
  return config;
};
