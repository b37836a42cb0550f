import { maskAccessKeyId } from "@credbridge/core";
import type { AwsCredentialIdentity, Logger } from "@smithy/types";
import type { CredentialSource } from "../internal/credentials.js";
import { type Handler, prepareReply, type Reply, type RequestContext } from "../internal/http.js";
import {
  credentialsDocument,
  ec2ErrorPage,
  ec2Listing,
  iamInfoDocument,
  instanceIdentityDocument,
  instanceProfileId,
} from "./formats.js";
import { parseTokenTtl, TOKEN_HEADER, TOKEN_TTL_HEADER, type TokenIssuer } from "./tokens.js";

/** The instance facts the metadata routes serve, resolved once at `listen`. */
export interface ImdsIdentity {
  roleName: string;
  region: string;
  availabilityZone: string;
  instanceId: string;
  instanceType: string;
  imageId: string;
  privateIp: string;
  architecture: string;
  partition: string;
  /** Undefined when neither configured nor derivable from a role ARN: taken from the credentials. */
  accountId: string | undefined;
  pendingTime: Date;
}

export interface ImdsRouteDeps {
  tokens: TokenIssuer;
  source: CredentialSource;
  identity: () => ImdsIdentity;
  requireToken: boolean;
  logger: Logger | undefined;
}

export const TOKEN_ROUTE = "/latest/api/token";
export const CREDENTIALS_ROUTE = "/latest/meta-data/iam/security-credentials/{role}";

const text = (route: string, body: string, status = 200): Reply => ({
  status,
  route,
  contentType: "text/plain",
  body,
});

/** EC2's error page for `status`. */
export const imdsError = (status: number, route: string, headers?: Record<string, string>): Reply => ({
  status,
  route,
  contentType: "text/html",
  body: ec2ErrorPage(status),
  headers,
});

type RouteHandler = (ctx: RequestContext) => Reply | Promise<Reply>;

interface Route {
  name: string;
  handle: RouteHandler;
}

/**
 * The metadata routes, one small handler each, behind the token check:
 * - `PUT /latest/api/token` issues tokens (403 with `X-Forwarded-For`, 400 for a bad TTL);
 * - every other request with a token header needs a valid, unexpired token (401),
 *   and with `requireToken` every request needs one (401);
 * - unknown paths 404, methods other than GET/PUT 405, PUT on a metadata path 405.
 */
export const createImdsRoutes = (deps: ImdsRouteDeps): Handler => {
  const { tokens, source, identity, logger } = deps;
  // The served document is rebuilt only when the credentials object or its served expiration changes.
  let cached: { credentials: AwsCredentialIdentity; expiration: number; reply: Reply } | undefined;

  const credentialsFailed = (route: string, error: unknown): Reply => {
    logger?.warn(
      `credbridge imds: cannot serve credentials: ${(error as Error)?.message ?? String(error)}; answering 500`,
    );
    return imdsError(500, route);
  };

  const routes = new Map<string, Route>();
  /** Registers a route under its normalized path; `name` is what the observer sees. */
  const add = (path: string, name: string, handle: RouteHandler) => routes.set(path, { name, handle });
  const listing = (path: string, ...entries: string[]) => {
    const name = path === "/" ? "/" : `${path}/`;
    const body = ec2Listing(entries);
    add(path, name, () => text(name, body));
  };
  const fact = (path: string, value: (id: ImdsIdentity) => string) =>
    add(path, path, () => text(path, value(identity())));
  /** A document that needs the account id, which may come from the credentials. */
  const document = (path: string, render: (id: ImdsIdentity, accountId: string) => string) =>
    add(path, path, async () => {
      try {
        const id = identity();
        return text(path, render(id, id.accountId ?? (await source.get()).credentials.accountId ?? ""));
      } catch (error) {
        return credentialsFailed(path, error);
      }
    });

  listing("/", "latest");
  listing("/latest", "dynamic", "meta-data");
  listing("/latest/meta-data", "iam/", "instance-id", "placement/");
  listing("/latest/meta-data/iam", "info", "security-credentials/");
  // No trailing newline: botocore uses the body verbatim as the role name.
  add("/latest/meta-data/iam/security-credentials", "/latest/meta-data/iam/security-credentials/", () =>
    text("/latest/meta-data/iam/security-credentials/", identity().roleName),
  );
  document("/latest/meta-data/iam/info", (id, account) => {
    const arn = `arn:${id.partition}:iam::${account}:instance-profile/${id.roleName}`;
    return iamInfoDocument(arn, instanceProfileId(arn), source.lastUpdated());
  });
  fact("/latest/meta-data/instance-id", (id) => id.instanceId);
  listing("/latest/meta-data/placement", "availability-zone", "region");
  fact("/latest/meta-data/placement/region", (id) => id.region);
  fact("/latest/meta-data/placement/availability-zone", (id) => id.availabilityZone);
  listing("/latest/dynamic", "instance-identity/");
  listing("/latest/dynamic/instance-identity", "document");
  document("/latest/dynamic/instance-identity/document", (id, accountId) =>
    instanceIdentityDocument({ ...id, accountId }),
  );

  const credentials: Route = {
    name: CREDENTIALS_ROUTE,
    handle: async () => {
      try {
        const served = await source.get();
        const expiration = served.expiration.getTime();
        if (cached?.credentials !== served.credentials || cached.expiration !== expiration) {
          const body = credentialsDocument(served.credentials, served.expiration, source.lastUpdated());
          cached = {
            credentials: served.credentials,
            expiration,
            reply: prepareReply(text(CREDENTIALS_ROUTE, body)),
          };
          logger?.debug?.(
            `credbridge imds: serving key ${maskAccessKeyId(served.credentials.accessKeyId)} until ${served.expiration.toISOString()}`,
          );
        }
        return cached.reply;
      } catch (error) {
        return credentialsFailed(CREDENTIALS_ROUTE, error);
      }
    },
  };

  const match = (segments: readonly string[], path: string): Route | undefined => {
    if (
      segments.length === 5 &&
      segments[0] === "latest" &&
      segments[1] === "meta-data" &&
      segments[2] === "iam" &&
      segments[3] === "security-credentials"
    ) {
      // Another role name is not this instance's role: 404, as EC2 answers.
      return segments[4] === identity().roleName ? credentials : undefined;
    }
    return routes.get(path);
  };

  const issueToken = (ctx: RequestContext): Reply => {
    // EC2 refuses token requests that went through a proxy, so a token never leaves the instance.
    if (ctx.req.headers["x-forwarded-for"] !== undefined) return imdsError(403, TOKEN_ROUTE);
    const ttl = parseTokenTtl(ctx.req.headers[TOKEN_TTL_HEADER]);
    if (ttl === undefined) return imdsError(400, TOKEN_ROUTE);
    return {
      ...text(TOKEN_ROUTE, tokens.issue(ttl)),
      // go1 reads the echoed TTL as an integer and proceeds without a token if it is missing.
      headers: { "X-aws-ec2-metadata-token-ttl-seconds": String(ttl) },
    };
  };

  return (ctx) => {
    const { method } = ctx;
    if (method !== "GET" && method !== "PUT")
      return imdsError(405, "method-not-allowed", { Allow: "GET, PUT" });
    if (ctx.path === TOKEN_ROUTE) {
      return method === "PUT" ? issueToken(ctx) : imdsError(405, TOKEN_ROUTE, { Allow: "PUT" });
    }
    const token = ctx.req.headers[TOKEN_HEADER];
    if (token !== undefined) {
      if (typeof token !== "string" || tokens.verify(token) !== "valid")
        return imdsError(401, "unauthorized");
    } else if (deps.requireToken) {
      return imdsError(401, "unauthorized");
    }
    const route = match(ctx.segments, ctx.path);
    if (!route) return imdsError(404, "not-found");
    if (method !== "GET") return imdsError(405, route.name, { Allow: "GET" });
    return route.handle(ctx);
  };
};
