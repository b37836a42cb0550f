import {
  type AmbientDetection,
  chainRoles,
  detectAmbientSource,
  fromAmbient,
  fromDefaultChain,
  fromPodIdentity,
  fromWebIdentity,
  ROLE_CHAINING_MAX_SECONDS,
  type RoleHop,
  selfAssume,
} from "@credbridge/core";
import type { AwsCredentialIdentityProvider, Logger } from "@smithy/types";
import { parseAssumeRole } from "./args/assume-role.js";
import type { ChainFlags } from "./args/flags.js";
import { parseProfiles } from "./args/profiles.js";
import { roleArnProblem } from "./args/role-arn.js";
import { UsageError } from "./args/usage-error.js";

export type SourceKind = "auto" | "web-identity" | "pod-identity" | "default";
const KINDS = new Set<string>(["auto", "web-identity", "pod-identity", "default"]);
const isSourceKind = (kind: string): kind is SourceKind => KINDS.has(kind);

/** One link of the chain; `provider` yields the credentials after this link. */
export interface ChainStep {
  label: string;
  provider: AwsCredentialIdentityProvider;
}

/** How long the sessions the chain's last step asks STS for last. */
export interface SessionLength {
  seconds: number;
  /** What on the command line decides it, for messages: `--duration 900`, `--assume-role ARN,duration=900`. */
  setBy: string;
}

/** A named profile's chain: its hops on top of the pod's one source (`base`). */
export interface ProfileChain {
  name: string;
  hops: RoleHop[];
  /** What the profile's last hop asks STS for. */
  session: SessionLength;
}

export interface BuiltChain {
  steps: ChainStep[];
  /** The steps every profile shares: the source, and self-assume when asked. */
  base: ChainStep[];
  /** What `base`'s last step asks STS for; undefined when no STS call of ours decides it. */
  baseSession: SessionLength | undefined;
  /** The default profile's --assume-role hops, after `base`. */
  hops: RoleHop[];
  /** Named profiles (--profile-assume-role), each its own hops after `base`. */
  profiles: ProfileChain[];
  /** The whole chain: the last step's provider. */
  provider: AwsCredentialIdentityProvider;
  detection: AmbientDetection;
  /** Undefined when no STS call of ours decides it (Pod Identity, the default chain). */
  session: SessionLength | undefined;
}

/** STS's own default for every AssumeRole* call without DurationSeconds. */
const STS_DEFAULT_SECONDS = 3600;

const requested = (seconds: number | undefined, setBy: string): SessionLength =>
  seconds === undefined
    ? { seconds: STS_DEFAULT_SECONDS, setBy: `${setBy}, STS's default` }
    : { seconds, setBy };

/** A chained session (role credentials assuming a role) lasts an hour at most: core caps what is asked. */
const chained = (seconds: number | undefined, setBy: string): SessionLength => {
  const session = requested(seconds, setBy);
  return session.seconds > ROLE_CHAINING_MAX_SECONDS
    ? { seconds: ROLE_CHAINING_MAX_SECONDS, setBy: `${setBy}, capped by role chaining` }
    : session;
};

const sessionOf = (
  flags: ChainFlags,
  hops: readonly RoleHop[],
  source: AmbientDetection["source"],
): SessionLength | undefined => {
  const duration = flags.duration;
  const last = hops.at(-1);
  if (last) {
    const spec = `--assume-role ${last.roleArn}${last.durationSeconds === undefined ? "" : `,duration=${last.durationSeconds}`}`;
    return chained(last.durationSeconds, spec);
  }
  const asked = duration === undefined ? "" : ` --duration ${duration}`;
  if (flags["self-assume"] === true) return chained(duration, `--self-assume${asked}`);
  if (source === "web-identity") return requested(duration, `web identity${asked}`);
  return undefined;
};

/** One step per hop, each signed by the step before: `previous` first. */
export const hopSteps = (previous: AwsCredentialIdentityProvider, hops: readonly RoleHop[]): ChainStep[] => {
  const steps: ChainStep[] = [];
  for (const hop of hops) {
    const signer = steps.at(-1)?.provider ?? previous;
    steps.push({ label: `assume-role ${hop.roleArn}`, provider: chainRoles(signer, [hop]) });
  }
  return steps;
};

/** A hop spec as the command line gave it, for messages. */
const hopSpec = (hop: RoleHop): string =>
  `${hop.roleArn}${hop.durationSeconds === undefined ? "" : `,duration=${hop.durationSeconds}`}`;

/** The source, the self-assume step and the --assume-role hops, from flags and env. */
export const buildChain = (
  flags: ChainFlags,
  env: Readonly<Record<string, string | undefined>>,
  logger: Logger | undefined,
  command: string,
): BuiltChain => {
  const kind = flags.source ?? "auto";
  if (!isSourceKind(kind)) {
    throw new UsageError(
      `--source must be one of auto, web-identity, pod-identity, default; got "${kind}"`,
      command,
    );
  }
  const runtime = { env, logger };
  const sts = { region: flags.region, stsEndpoint: flags["sts-endpoint"] };
  const durationSeconds = flags.duration;
  const webIdentity = {
    ...sts,
    roleArn: flags["role-arn"],
    tokenFile: flags["web-identity-token-file"],
    roleSessionName: flags["role-session-name"],
    durationSeconds,
  };
  const hops: RoleHop[] = (flags["assume-role"] ?? []).map((spec) => ({
    ...sts,
    ...parseAssumeRole(spec, command),
    runtime,
  }));

  const detected = detectAmbientSource(env, { webIdentity });
  const detection: AmbientDetection =
    kind === "auto" ? detected : { source: kind, reason: `--source ${kind}`, variables: [] };
  const first: AwsCredentialIdentityProvider =
    kind === "auto"
      ? fromAmbient({ webIdentity, runtime })
      : kind === "web-identity"
        ? fromWebIdentity({ ...webIdentity, runtime })
        : kind === "pod-identity"
          ? fromPodIdentity({ runtime })
          : fromDefaultChain();
  const steps: ChainStep[] = [{ label: `source ${detection.source}`, provider: first }];
  if (flags["self-assume"] === true) {
    // The role --self-assume assumes, when AWS_ROLE_ARN names it (the flag is checked as parsed):
    // refused at start, naming the variable, not at the first refresh.
    const fromEnv = flags["role-arn"] === undefined ? env.AWS_ROLE_ARN : undefined;
    const problem = fromEnv ? roleArnProblem(fromEnv, "AWS_ROLE_ARN") : undefined;
    if (problem) throw new UsageError(problem, command);
    const previous = steps.at(-1)!.provider;
    steps.push({
      label: "self-assume",
      provider: selfAssume(previous, {
        ...sts,
        roleArn: flags["role-arn"],
        roleSessionName: flags["role-session-name"],
        durationSeconds,
        runtime,
      }),
    });
  }
  const base = [...steps];
  steps.push(...hopSteps(steps.at(-1)!.provider, hops));
  // `process --profile` picks a named profile; elsewhere --profile names the default one's section.
  const defaultName = command === "process" ? "default" : (flags.profile ?? "default");
  const profiles = parseProfiles(flags["profile-assume-role"], command, [defaultName]).map(
    (p): ProfileChain => ({
      name: p.name,
      hops: p.hops.map((hop) => ({ ...sts, ...hop, runtime })),
      session: chained(
        p.hops.at(-1)!.durationSeconds,
        `--profile-assume-role ${p.name}=${hopSpec(p.hops.at(-1)!)}`,
      ),
    }),
  );
  return {
    steps,
    base,
    baseSession: sessionOf(flags, [], detection.source),
    hops,
    profiles,
    provider: steps.at(-1)!.provider,
    detection,
    session: sessionOf(flags, hops, detection.source),
  };
};

/**
 * The provider of the profile `process --profile` names: a named profile's
 * hops on the shared base, or the default chain for none or "default".
 */
export const profileProvider = (
  chain: BuiltChain,
  name: string | undefined,
  steps: typeof hopSteps = hopSteps,
): AwsCredentialIdentityProvider => {
  if (name === undefined || name === "default") return chain.provider;
  const profile = chain.profiles.find((p) => p.name === name);
  if (!profile) {
    throw new UsageError(
      `--profile ${name} names no profile; the profiles are ${["default", ...chain.profiles.map((p) => p.name)].join(", ")} (named ones come from --profile-assume-role)`,
      "process",
    );
  }
  return steps(chain.base.at(-1)!.provider, profile.hops).at(-1)!.provider;
};
