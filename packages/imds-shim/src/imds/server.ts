import { randomBytes } from "node:crypto";
import { networkInterfaces } from "node:os";
import {
  CredbridgeError,
  ENV_DEFAULT_REGION,
  ENV_REGION,
  type Runtime,
  resolveRuntime,
} from "@credbridge/core";
import { parseRoleArn } from "@credbridge/core/wire";
import { createHttpServer, type Handler, hasControlCharacter } from "@credbridge/http";
import {
  type CredentialsServer,
  createCredentialSupply,
  credentialsServer,
  type ServedCredentialsOptions,
  type ServerOptions,
} from "../internal/credentials.js";
import { ec2Architecture } from "./formats.js";
import { createImdsRoutes, type ImdsIdentity, imdsError } from "./routes.js";
import { createTokenIssuer } from "./tokens.js";

/** The region served when neither the option nor `AWS_REGION`/`AWS_DEFAULT_REGION` gives one. */
export const DEFAULT_REGION = "us-east-1";
/** Loopback unless told otherwise. */
export const DEFAULT_HOST = "127.0.0.1";
/** The addresses the real metadata service answers on, accepted as `Host` for the redirect deployment. */
export const IMDS_WELL_KNOWN_HOSTS = ["169.254.169.254", "[fd00:ec2::254]"] as const;

export interface ImdsServerOptions extends ServedCredentialsOptions, ServerOptions {
  /**
   * The role name served under `iam/security-credentials/`. Default: the name
   * in `roleArn`, else the role the served credentials carry (credbridge's STS
   * providers take it from STS's `AssumedRoleUser.Arn`: after a chain, the last
   * hop's role), else `credbridge`.
   */
  roleName?: string | undefined;
  /**
   * The role behind the credentials, for the role name, account id and
   * `iam/info`. Default: the role the served credentials carry. Never read from
   * the environment: `AWS_ROLE_ARN` names the source's role, not the served one.
   */
  roleArn?: string | undefined;
  /** Served at `placement/region` and in the identity document. Default `AWS_REGION`, `AWS_DEFAULT_REGION`, else `us-east-1`. */
  region?: string | undefined;
  /** Default: the region followed by `a`. */
  availabilityZone?: string | undefined;
  /** Default: a random `i-` id drawn per server, as a new instance would get. */
  instanceId?: string | undefined;
  /** Default: the account in `roleArn`, else the credentials' account (what STS returned), else empty. */
  accountId?: string | undefined;
  /** For the identity document. Default `unknown`. */
  instanceType?: string | undefined;
  /** For the identity document. Default `ami-00000000000000000`. */
  imageId?: string | undefined;
  /** For the identity document. Default: the first non-internal IPv4 address, else 127.0.0.1. */
  privateIp?: string | undefined;
  /** IMDSv2 only: requests without a token get 401. Default false: v1 and v2 are both served, as EC2's default. */
  requireToken?: boolean | undefined;
  /** Default 127.0.0.1. Any other address exposes the credentials to whoever can reach it. */
  host?: string | undefined;
}

/** `listen`'s `url` is the endpoint for `AWS_EC2_METADATA_SERVICE_ENDPOINT` (no trailing slash). */
export type ImdsServer = CredentialsServer;

const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

const firstNonInternalIpv4 = (): string => {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
};

/**
 * The instance facts from the options, the environment and defaults; throws
 * ERR_CONFIG for a value that cannot be served.
 */
const resolveIdentity = (options: ImdsServerOptions, rt: Runtime): ImdsIdentity => {
  const parsed = options.roleArn === undefined ? undefined : parseRoleArn(options.roleArn);
  if (options.roleArn !== undefined && !parsed) {
    throw new CredbridgeError(
      `imds: roleArn ${JSON.stringify(options.roleArn)} is not a role ARN (arn:aws:iam::123456789012:role/name)`,
      { code: "ERR_CONFIG" },
    );
  }
  const roleName = options.roleName ?? parsed?.roleName;
  if (roleName !== undefined && !ROLE_NAME.test(roleName)) {
    throw new CredbridgeError(
      `imds: roleName ${JSON.stringify(roleName)} is not a valid IAM role name (1–64 of letters, digits and +=,.@_-)`,
      { code: "ERR_CONFIG" },
    );
  }
  const region =
    options.region ?? (rt.env[ENV_REGION]?.trim() || rt.env[ENV_DEFAULT_REGION]?.trim() || DEFAULT_REGION);
  if (!/^[a-z0-9-]{1,32}$/.test(region)) {
    throw new CredbridgeError(`imds: region ${JSON.stringify(region)} is not a region name`, {
      code: "ERR_CONFIG",
    });
  }
  for (const [name, value] of Object.entries({
    availabilityZone: options.availabilityZone,
    instanceId: options.instanceId,
    accountId: options.accountId,
    instanceType: options.instanceType,
    imageId: options.imageId,
    privateIp: options.privateIp,
  })) {
    if (value !== undefined && (typeof value !== "string" || hasControlCharacter(value))) {
      throw new CredbridgeError(`imds: ${name} must be a single-line string`, { code: "ERR_CONFIG" });
    }
  }
  return {
    roleName,
    region,
    availabilityZone: options.availabilityZone ?? `${region}a`,
    instanceId: options.instanceId ?? `i-${randomBytes(9).toString("hex").slice(0, 17)}`,
    instanceType: options.instanceType ?? "unknown",
    imageId: options.imageId ?? "ami-00000000000000000",
    privateIp: options.privateIp ?? firstNonInternalIpv4(),
    architecture: ec2Architecture(process.arch),
    partition: parsed?.partition,
    accountId: options.accountId ?? parsed?.accountId,
    pendingTime: new Date(rt.now()),
  };
};

/**
 * An EC2 instance metadata service (IMDSv1 and v2) serving any credential
 * provider, for SDKs that refresh from IMDS but read a credentials file only
 * once. Creating it does no I/O and never throws; `listen` validates and binds.
 */
export const createImdsServer = (options: ImdsServerOptions): ImdsServer => {
  const rt = resolveRuntime(options.runtime);
  const logger = options.logger ?? rt.logger;
  const supply = createCredentialSupply(options, rt, "imds");
  const tokens = createTokenIssuer(rt.now);
  // Built at the first listen, from the identity resolved there (one instance id for the server's life).
  let routes: Handler | undefined;

  const http = createHttpServer({
    name: "imds",
    host: options.host ?? DEFAULT_HOST,
    port: options.port ?? 0,
    limits: options.limits ?? {},
    wellKnownHosts: IMDS_WELL_KNOWN_HOSTS,
    allowedHosts: options.allowedHosts ?? [],
    // The HTTP core hands requests over only once listening: after beforeListen built the routes.
    handler: (ctx) => routes!(ctx),
    errorReply: (status, route) => imdsError(status, route),
    logger,
    onRequest: options.onRequest,
    url: (base) => base,
    beforeListen: () => {
      supply.validate();
      routes ??= createImdsRoutes({
        now: options.runtime?.monotonicNow ?? options.runtime?.now ?? rt.monotonicNow,
        tokens,
        supply,
        identity: resolveIdentity(options, rt),
        requireToken: options.requireToken === true,
        logger,
      });
      supply.start();
    },
    afterClose: () => supply.stop(),
  });

  return credentialsServer(http, supply);
};
