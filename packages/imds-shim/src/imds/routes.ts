import { sessionIdentity } from "@credbridge/core/wire";
import type { Handler, Reply, RequestContext } from "@credbridge/http";
import type { AwsCredentialIdentity, Logger } from "@smithy/types";
import { type CredentialSupply, preparedCredentialsReply } from "../internal/credentials.js";
import { limitedWarnings } from "../internal/limited-warnings.js";
import {
  credentialsDocument,
  ec2ErrorPage,
  ec2Listing,
  iamInfoDocument,
  instanceIdentityDocument,
  instanceProfileId,
  partitionOf,
} from "./formats.js";
import { parseTokenTtl, TOKEN_HEADER, TOKEN_TTL_HEADER, type TokenIssuer } from "./tokens.js";

/** The instance facts the metadata routes serve, resolved once at `listen`. */
export interface ImdsIdentity {
  /** Undefined unless configured: taken from the credentials. */
  roleName: string | undefined;
  region: string;
  availabilityZone: string;
  instanceId: string;
  instanceType: string;
  imageId: string;
  privateIp: string;
  architecture: string;
  /** Undefined unless a role ARN is configured: taken from the credentials, else the region. */
  partition: string | undefined;
  /** Undefined unless configured (or in a configured role ARN): taken from the credentials. */
  accountId: string | undefined;
  pendingTime: Date;
}

/** The role name served when none is configured and the credentials name no role. */
export const DEFAULT_ROLE_NAME = "credbridge";

/** Who the served credentials act as: the role listed, the account and partition of the documents. */
interface Principal {
  roleName: string;
  accountId: string;
  partition: string;
}

export interface ImdsRouteDeps {
  tokens: TokenIssuer;
  supply: CredentialSupply;
  /** Resolved at `listen`; a role, account or partition left open comes from the credentials. */
  identity: ImdsIdentity;
  requireToken: boolean;
  logger: Logger | undefined;
  /** The clock repeated warnings are spaced on. Default `Date.now`. */
  now?: (() => number) | undefined;
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
  const { tokens, supply, identity, logger } = deps;

  // What the credentials say of themselves fills in what is not configured; one answer per credentials object.
  let known: { credentials: AwsCredentialIdentity; principal: Principal } | undefined;
  const principalOf = (credentials: AwsCredentialIdentity): Principal => {
    if (known?.credentials === credentials) return known.principal;
    const session = sessionIdentity(credentials);
    const principal = {
      roleName: identity.roleName ?? session.roleName ?? DEFAULT_ROLE_NAME,
      accountId: identity.accountId ?? session.accountId ?? "",
      partition: identity.partition ?? session.partition ?? partitionOf(identity.region),
    };
    known = { credentials, principal };
    return principal;
  };
  /** The principal for routes that serve no credentials (configured, else from the current credentials). */
  const principal = (): Principal | Promise<Principal> => {
    // Configured in full: no credentials needed to say who this instance is.
    if (
      identity.roleName !== undefined &&
      identity.accountId !== undefined &&
      identity.partition !== undefined
    ) {
      return { roleName: identity.roleName, accountId: identity.accountId, partition: identity.partition };
    }
    return supply.get().then((served) => principalOf(served.credentials));
  };
  /**
   * The role listed under `security-credentials/`: configured, else the one
   * credentials last named, else the current credentials'. EC2 lists the
   * instance's role whether or not its credentials can be had right now.
   */
  const listedRole = (): string | Promise<string> => {
    if (identity.roleName !== undefined) return identity.roleName;
    // Named once by credentials, the role stays listed through an outage, as EC2's does.
    if (known) return known.principal.roleName;
    return supply.get().then((served) => principalOf(served.credentials).roleName);
  };

  // One line per failure, not per request: a client may ask thousands of times a second.
  const warnLimited = limitedWarnings(logger, deps.now ?? Date.now);
  const credentialsFailed = (route: string, error: unknown): Reply => {
    warnLimited(
      "credentials",
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
    add(path, path, () => text(path, value(identity)));
  /** A document naming the role or account, which may come from the credentials. */
  const document = (name: string, path: string, render: (id: ImdsIdentity, who: Principal) => string) =>
    add(path, name, async () => {
      try {
        return text(name, render(identity, await principal()));
      } catch (error) {
        return credentialsFailed(name, error);
      }
    });

  listing("/", "latest");
  listing("/latest", "dynamic", "meta-data");
  listing("/latest/meta-data", "iam/", "instance-id", "placement/");
  listing("/latest/meta-data/iam", "info", "security-credentials/");
  // No trailing newline: botocore uses the body verbatim as the role name.
  const LISTING = "/latest/meta-data/iam/security-credentials/";
  add("/latest/meta-data/iam/security-credentials", LISTING, () => {
    let role: string | Promise<string>;
    try {
      role = listedRole();
    } catch (error) {
      return credentialsFailed(LISTING, error);
    }
    return typeof role === "string"
      ? text(LISTING, role)
      : role.then(
          (name) => text(LISTING, name),
          (error: unknown) => credentialsFailed(LISTING, error),
        );
  });
  document("/latest/meta-data/iam/info", "/latest/meta-data/iam/info", (_id, who) => {
    const arn = `arn:${who.partition}:iam::${who.accountId}:instance-profile/${who.roleName}`;
    return iamInfoDocument(arn, instanceProfileId(arn), supply.lastUpdated());
  });
  fact("/latest/meta-data/instance-id", (id) => id.instanceId);
  listing("/latest/meta-data/placement", "availability-zone", "region");
  fact("/latest/meta-data/placement/region", (id) => id.region);
  fact("/latest/meta-data/placement/availability-zone", (id) => id.availabilityZone);
  listing("/latest/dynamic", "instance-identity/");
  listing("/latest/dynamic/instance-identity", "document");
  document(
    "/latest/dynamic/instance-identity/document",
    "/latest/dynamic/instance-identity/document",
    (id, who) => instanceIdentityDocument({ ...id, accountId: who.accountId }),
  );

  // The served document is rebuilt only when the credentials object or its served expiration changes.
  const credentialsDocumentReply = preparedCredentialsReply(
    "imds",
    (served): Reply => ({
      ...text(
        CREDENTIALS_ROUTE,
        credentialsDocument(served.credentials, served.expiration, supply.lastUpdated()),
      ),
      reused: true,
    }),
    logger,
  );

  const credentialsUnavailable = (error: unknown) => credentialsFailed(CREDENTIALS_ROUTE, error);

  const credentials: Route = {
    name: CREDENTIALS_ROUTE,
    handle: (ctx) => {
      const role = ctx.segments[4];
      return supply.answer(
        // Another role name is not this instance's role: 404, as EC2 answers.
        (served) =>
          role === principalOf(served.credentials).roleName
            ? credentialsDocumentReply(served)
            : imdsError(404, "not-found"),
        credentialsUnavailable,
      );
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
      return credentials;
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
