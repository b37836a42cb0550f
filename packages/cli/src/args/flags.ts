/** How a flag's value is read. `list` flags repeat on the command line and split on whitespace in env. */
export type FlagType = "string" | "boolean" | "integer" | "list";

export interface FlagSpec {
  type: FlagType;
  /** Shown in usage, e.g. "SECONDS". */
  value?: string;
  help: string;
}

export type FlagTable = Record<string, FlagSpec>;

/** What the parser gives a flag of each type. */
interface FlagValueOfType {
  string: string;
  boolean: boolean;
  integer: number;
  list: string[];
}

/**
 * A command's parsed flags, typed from its table: a flag is absent when neither the command
 * line nor its variable gave it (a boolean too: false only when its variable says so), so a
 * misspelt name or a value read as the wrong type is a type error.
 */
export type FlagValues<T extends FlagTable> = { readonly [K in keyof T]?: FlagValueOfType[T[K]["type"]] };

export const SOURCE_FLAGS = {
  source: {
    type: "string",
    value: "auto|web-identity|pod-identity|default",
    help: "where the first credentials come from (auto: IRSA, else Pod Identity, else the SDK default chain)",
  },
  "role-arn": {
    type: "string",
    value: "ARN",
    help: "role for web identity and self-assume (default AWS_ROLE_ARN)",
  },
  "web-identity-token-file": {
    type: "string",
    value: "PATH",
    help: "IRSA token file (default AWS_WEB_IDENTITY_TOKEN_FILE)",
  },
  "role-session-name": {
    type: "string",
    value: "NAME",
    help: "STS session name (default AWS_ROLE_SESSION_NAME)",
  },
  region: {
    type: "string",
    value: "REGION",
    help: "STS region (default AWS_REGION, AWS_DEFAULT_REGION, us-east-1)",
  },
  "sts-endpoint": {
    type: "string",
    value: "URL",
    help: "STS endpoint (default AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL)",
  },
  duration: { type: "integer", value: "SECONDS", help: "session duration for web identity and self-assume" },
  "self-assume": {
    type: "boolean",
    help: "assume the role the source already holds (its trust policy must allow itself)",
  },
  "assume-role": {
    type: "list",
    value: "ARN[,external-id=ID][,session-name=NAME][,duration=SECONDS]",
    help: "assume this role next, signed by the previous step (repeatable: a cross-account chain)",
  },
  "log-level": { type: "string", value: "debug|info|warn|error", help: "log threshold (default info)" },
  help: { type: "boolean", help: "show this help" },
} satisfies FlagTable;

/** Named profiles: several chains from the pod's one source, in `serve`, `process` and `doctor`. */
const PROFILE_FLAGS = {
  "profile-assume-role": {
    type: "list",
    value: "NAME=ARN[,external-id=ID][,session-name=NAME][,duration=SECONDS]",
    help: "a named profile's next hop from the pod's one source (repeatable: each names its profile; a profile's hops in the order given)",
  },
} satisfies FlagTable;

const FILE_FLAGS = {
  "credentials-file": {
    type: "string",
    value: "PATH",
    help: "credentials file to keep fresh (default AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials)",
  },
  profile: { type: "string", value: "NAME", help: "profile to write (default default)" },
  "file-mode": {
    type: "string",
    value: "OCTAL",
    help: "mode of the credentials file and the container token file (default 0600)",
  },
  "file-owner": {
    type: "string",
    value: "UID:GID",
    help: "chown the credentials file, for an application running as another user",
  },
} satisfies FlagTable;

/** The margin `serve` and `write` keep: their sessions must outlive it. */
const MIN_REMAINING = {
  type: "integer",
  value: "SECONDS",
  help: "never serve or write credentials with less left than this; sessions must last longer (default 900)",
} satisfies FlagSpec;

/**
 * The policy commands' role: the same flag and variable as the sources' `--role-arn`, so that
 * run in the sidecar (AWS_ROLE_ARN, CREDBRIDGE_SELF_ASSUME=true) they describe that sidecar's role.
 */
const ROLE_OF_POLICY = {
  type: "string",
  value: "ARN",
  help: "the role the policy is for (default AWS_ROLE_ARN, which IRSA sets in the pod)",
} satisfies FlagSpec;

/** `--self-assume` means one thing everywhere: the role assumes itself, as `serve --self-assume` does. */
const SELF_ASSUME_POLICY = {
  type: "boolean",
  help: "the role assumes itself, as serve --self-assume does: let it (needs the role: --role-arn)",
} satisfies FlagSpec;

/** A command's summary and flags, as usage prints them. */
export interface CommandSpec {
  summary: string;
  flags: FlagTable;
}

/** The flags every command has: main reads them before the command runs. */
type CommonTable = Pick<typeof SOURCE_FLAGS, "help" | "log-level">;

/** Every command's table, each flag's type kept: {@link CommandFlags} derives from it. */
const COMMAND_TABLE = {
  serve: {
    summary: "run as a sidecar: keep a credentials file fresh and serve IMDS and container credentials",
    flags: {
      ...SOURCE_FLAGS,
      ...PROFILE_FLAGS,
      ...FILE_FLAGS,
      imds: { type: "string", value: "HOST:PORT", help: "serve EC2 instance metadata (IMDSv1 and v2) here" },
      "imds-role-name": {
        type: "string",
        value: "NAME",
        help: "role name IMDS lists (default: the role STS names for the served credentials)",
      },
      "imds-profile": {
        type: "list",
        value: "NAME",
        help: "the one profile IMDS serves (default: the default profile); EC2 has one instance profile, so one only",
      },
      "imds-v2-only": {
        type: "boolean",
        help:
          "refuse IMDSv1 requests (no session token); breaks IMDSv1-only clients: aws-sdk-go before 1.25.38, " +
          "so Harbor 2.x's registry (distribution v2.8.3, aws-sdk-go 1.15.11)",
      },
      "container-endpoint": {
        type: "string",
        value: "HOST:PORT",
        help: "serve container credentials at /v1/credentials here, and each named profile at /v1/credentials/NAME",
      },
      "container-auth-token-file": {
        type: "string",
        value: "PATH",
        help: "token clients must send (created with a random token when missing)",
      },
      metrics: { type: "string", value: "HOST:PORT", help: "serve /metrics, /healthz and /readyz here" },
      "min-remaining": MIN_REMAINING,
      "refresh-timeout": {
        type: "integer",
        value: "SECONDS",
        help: "a refresh taking longer counts as failed and is retried with backoff (default 60, at most 180)",
      },
      "remove-on-exit": {
        type: "boolean",
        help: "remove the written profile (every profile's section) on shutdown",
      },
    },
  },
  write: {
    summary: "write the credentials file once and exit (init containers, cron)",
    flags: { ...SOURCE_FLAGS, ...FILE_FLAGS, "min-remaining": MIN_REMAINING },
  },
  process: {
    summary: "print credential_process JSON, cached on disk between calls",
    flags: {
      ...SOURCE_FLAGS,
      ...PROFILE_FLAGS,
      profile: {
        type: "string",
        value: "NAME",
        help: "the named profile (--profile-assume-role) to print (default: the chain without them)",
      },
      "cache-dir": {
        type: "string",
        value: "PATH",
        help: "cache directory (default $XDG_CACHE_HOME/credbridge or ~/.cache/credbridge)",
      },
      "no-cache": { type: "boolean", help: "always fetch; never read or write the cache" },
    },
  },
  doctor: {
    summary: "explain the detected source, inspect the token, and test each step of the chain",
    flags: { ...SOURCE_FLAGS, ...PROFILE_FLAGS, json: { type: "boolean", help: "print the report as JSON" } },
  },
  webhook: {
    summary: "Kubernetes admission webhook: inject the sidecar into pods annotated credbridge.io/inject",
    flags: {
      listen: {
        type: "string",
        value: "HOST:PORT",
        help: "serve HTTPS here (POST /mutate, /healthz, /readyz)",
      },
      "tls-cert-file": {
        type: "string",
        value: "PATH",
        help: "serving certificate (PEM), reloaded when it changes",
      },
      "tls-key-file": { type: "string", value: "PATH", help: "its private key (PEM), reloaded with it" },
      metrics: {
        type: "string",
        value: "HOST:PORT",
        help: "serve /metrics, /healthz and /readyz here, over plain HTTP (for Prometheus and the kubelet)",
      },
      image: {
        type: "string",
        value: "IMAGE",
        help:
          "the injected sidecar's image (default ghcr.io/credbridge/credbridge of this version, " +
          "not published before the first release: name your build)",
      },
      "address-image": {
        type: "string",
        value: "IMAGE",
        help: "image with `ip` that puts the IMDS address on loopback (default busybox:1.37)",
      },
      "log-level": SOURCE_FLAGS["log-level"],
      help: SOURCE_FLAGS.help,
    },
  },
  "trust-policy": {
    summary: "print the IAM trust policy for IRSA or EKS Pod Identity, optionally with self-assume",
    flags: {
      irsa: { type: "boolean", help: "a trust policy for IAM roles for service accounts (IRSA)" },
      "pod-identity": { type: "boolean", help: "a trust policy for EKS Pod Identity" },
      "oidc-issuer": { type: "string", value: "URL", help: "the cluster's OIDC issuer URL (IRSA)" },
      "account-id": {
        type: "string",
        value: "ID",
        help: "account of the role and its OIDC provider (IRSA; default: the account of --role-arn)",
      },
      namespace: { type: "string", value: "NS", help: "service account namespace (IRSA)" },
      "service-account": { type: "string", value: "SA", help: "service account name (IRSA)" },
      "role-arn": ROLE_OF_POLICY,
      "self-assume": SELF_ASSUME_POLICY,
      "assumed-by": {
        type: "string",
        value: "ARN",
        help: "instead: the trust policy of a role a profile hop assumes, trusting the role of the hop before it (the pod's role for a first hop)",
      },
      "external-id": {
        type: "string",
        value: "ID",
        help: "with --assumed-by: require this external id (the hop's external-id=)",
      },
      "log-level": SOURCE_FLAGS["log-level"],
      help: SOURCE_FLAGS.help,
    },
  },
  "permission-policy": {
    summary: "print the IAM permission policy of the role: the registry's S3 actions, and assuming itself",
    flags: {
      "s3-bucket": {
        type: "string",
        value: "BUCKET",
        help: "the registry's bucket (storage.s3.bucket): the actions distribution's S3 driver calls, on it only",
      },
      "s3-prefix": {
        type: "string",
        value: "PREFIX",
        help: "the registry's storage.s3.rootdirectory: objects only under it (default: the whole bucket)",
      },
      "role-arn": ROLE_OF_POLICY,
      "self-assume": SELF_ASSUME_POLICY,
      ...PROFILE_FLAGS,
      "log-level": SOURCE_FLAGS["log-level"],
      help: SOURCE_FLAGS.help,
    },
  },
} satisfies Record<string, CommandSpec & { flags: CommonTable }>;

/** The commands by name, for the parser, usage and the variables' names. */
export const COMMANDS: Record<string, CommandSpec> = COMMAND_TABLE;

export type CommandName = keyof typeof COMMAND_TABLE;

/** The flags `command` is run with, typed from its table. */
export type CommandFlags<C extends CommandName> = FlagValues<(typeof COMMAND_TABLE)[C]["flags"]>;

export type CommonFlags = FlagValues<CommonTable>;

/** What the source reads (`sourceReads`, the process cache's key): the source flags alone. */
export type SourceFlags = FlagValues<typeof SOURCE_FLAGS>;

/**
 * What building the chain reads, shared by `serve`, `write`, `process` and `doctor`: the source
 * flags, the named profiles (not `write`'s) and `--profile` (not `doctor`'s).
 */
export type ChainFlags = FlagValues<
  typeof SOURCE_FLAGS & typeof PROFILE_FLAGS & Pick<typeof FILE_FLAGS, "profile">
>;

/** The credentials-file flags `serve` and `write` share. */
export type FileFlags = FlagValues<typeof FILE_FLAGS>;

/** The margin `serve` and `write` keep, on the chain they build. */
export type MarginFlags = ChainFlags & FlagValues<{ "min-remaining": typeof MIN_REMAINING }>;

/** The role the policy commands print for. */
export type PolicyRoleFlags = FlagValues<{
  "role-arn": typeof ROLE_OF_POLICY;
  "self-assume": typeof SELF_ASSUME_POLICY;
}>;

/** `role-arn` → `CREDBRIDGE_ROLE_ARN`. */
export const envNameOf = (flag: string): string => `CREDBRIDGE_${flag.toUpperCase().replaceAll("-", "_")}`;
