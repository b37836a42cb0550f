import { randomBytes } from "node:crypto";
import { networkInterfaces } from "node:os";
import {
  CredbridgeError,
  ENV_DEFAULT_REGION,
  ENV_REGION,
  ENV_ROLE_ARN,
  resolveRuntime,
} from "@credbridge/core";
import { createCredentialSource, type ServedCredentialsOptions } from "../internal/credentials.js";
import {
  type CredentialsServer,
  createHttpServer,
  credentialsServer,
  type ServerOptions,
} from "../internal/http.js";
import { hasControlCharacter } from "../internal/target.js";
import { ec2Architecture, parseRoleArn, partitionOf } from "./formats.js";
import { createImdsRoutes, type ImdsIdentity, imdsError } from "./routes.js";
import { createTokenIssuer } from "./tokens.js";

/** The role name served when none is configured and no role ARN names one. */
export const DEFAULT_ROLE_NAME = "credbridge";
/** The region served when neither the option nor `AWS_REGION`/`AWS_DEFAULT_REGION` gives one. */
export const DEFAULT_REGION = "us-east-1";
/** Loopback unless told otherwise. */
export const DEFAULT_HOST = "127.0.0.1";
/** The addresses the real metadata service answers on, accepted as `Host` for the redirect deployment. */
export const IMDS_WELL_KNOWN_HOSTS = ["169.254.169.254", "[fd00:ec2::254]"] as const;

export interface ImdsServerOptions extends ServedCredentialsOptions, ServerOptions {
  /** The role name served under `iam/security-credentials/`. Default: the name in `roleArn`, else `credbridge`. */
  roleName?: string | undefined;
  /** The role behind the credentials, for the default role name, account id and `iam/info`. Default `AWS_ROLE_ARN`. */
  roleArn?: string | undefined;
  /** Served at `placement/region` and in the identity document. Default `AWS_REGION`, `AWS_DEFAULT_REGION`, else `us-east-1`. */
  region?: string | undefined;
  /** Default: the region followed by `a`. */
  availabilityZone?: string | undefined;
  /** Default: a random `i-` id drawn per server, as a new instance would get. */
  instanceId?: string | undefined;
  /** Default: the account in `roleArn`, else the credentials' `accountId`, else empty. */
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
 * An EC2 instance metadata service (IMDSv1 and v2) serving any credential
 * provider, for SDKs that refresh from IMDS but read a credentials file only
 * once. Creating it does no I/O and never throws; `listen` validates and binds.
 */
export const createImdsServer = (options: ImdsServerOptions): ImdsServer => {
  const rt = resolveRuntime(options.runtime);
  const logger = options.logger ?? rt.logger;
  const source = createCredentialSource(options, rt, "imds");
  const tokens = createTokenIssuer(rt.now);
  let identity: ImdsIdentity | undefined;

  const resolveIdentity = (): ImdsIdentity => {
    const roleArn = options.roleArn ?? (rt.env[ENV_ROLE_ARN]?.trim() || undefined);
    const parsed = roleArn ? parseRoleArn(roleArn) : undefined;
    if (options.roleArn !== undefined && !parsed) {
      throw new CredbridgeError(
        `imds: roleArn ${JSON.stringify(options.roleArn)} is not a role ARN (arn:aws:iam::123456789012:role/name)`,
        { code: "ERR_CONFIG" },
      );
    }
    const roleName = options.roleName ?? parsed?.roleName ?? DEFAULT_ROLE_NAME;
    if (!ROLE_NAME.test(roleName)) {
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
      partition: parsed?.partition ?? partitionOf(region),
      accountId: options.accountId ?? parsed?.accountId,
      pendingTime: new Date(rt.now()),
    };
  };

  const handler = createImdsRoutes({
    tokens,
    source,
    identity: () => identity as ImdsIdentity,
    requireToken: options.requireToken === true,
    logger,
  });

  const http = createHttpServer({
    name: "imds",
    host: options.host ?? DEFAULT_HOST,
    port: options.port ?? 0,
    limits: options.limits ?? {},
    wellKnownHosts: IMDS_WELL_KNOWN_HOSTS,
    allowedHosts: options.allowedHosts ?? [],
    handler,
    errorReply: (status, route) => imdsError(status, route),
    logger,
    onRequest: options.onRequest,
    url: (base) => base,
    beforeListen: () => {
      source.validate();
      identity ??= resolveIdentity();
      source.start();
    },
    afterClose: () => source.stop(),
  });

  return credentialsServer(http, source);
};
