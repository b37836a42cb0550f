import { CredbridgeError, resolveRuntime } from "@credbridge/core";
import { parseRoleArn, rfc3339Seconds, sessionIdentity } from "@credbridge/core/wire";
import { createHttpServer, parseTarget, type Reply } from "@credbridge/http";
import type { AwsCredentialIdentity } from "@smithy/types";
import {
  type CredentialSupply,
  type CredentialsServer,
  createCredentialSupply,
  credentialsServer,
  type PreparedCredentialsReply,
  preparedCredentialsReply,
  type ServedCredentialsOptions,
  type ServerOptions,
} from "../internal/credentials.js";
import { limitedWarnings } from "../internal/limited-warnings.js";
import { createAuthTokenSource, type ExpectedToken, tokensMatch } from "./auth-token.js";

/** The path the EKS Pod Identity agent serves credentials on. */
export const DEFAULT_CONTAINER_CREDENTIALS_PATH = "/v1/credentials";
/** The container-credentials addresses the SDKs trust over plain http, accepted as `Host` for the redirect deployment. */
export const CONTAINER_WELL_KNOWN_HOSTS = ["169.254.170.2", "169.254.170.23", "[fd00:ec2::23]"] as const;

export interface ContainerCredentialsServerOptions extends ServedCredentialsOptions, ServerOptions {
  /** The value every request's `Authorization` header must equal (`AWS_CONTAINER_AUTHORIZATION_TOKEN` on the client). */
  authToken?: string | undefined;
  /**
   * A file holding that value (`AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` on the
   * client), re-read whenever it changes. Read by the rule core's client uses
   * (`parseAuthorizationToken` in `@credbridge/core/wire`): one trailing newline
   * and the spaces or tabs at either end are ignored, other line breaks and
   * anything outside printable ASCII refused. `listen` fails while the file is
   * missing or refused; a file that breaks later gets every request a 500
   * until it is fixed. Exactly one of `authToken` and `authTokenFile` is required.
   */
  authTokenFile?: string | undefined;
  /**
   * The user `authTokenFile` may belong to besides root and the server's own
   * (the one it was made for: `serve --file-owner`). Whoever could choose the
   * token could take the credentials, so the file is refused (500, and
   * `listen` fails) when it belongs to anyone else, when others may write it,
   * or when it is reached through a symbolic link others could have planted;
   * at most 16 KiB of it is read.
   */
  authTokenFileOwner?: number | undefined;
  /**
   * Added to the response as `RoleArn`, as ECS does. Default: the role the
   * served credentials carry (credbridge's STS providers take it from STS's
   * `AssumedRoleUser.Arn`, so after a chain it is the last hop's role), else
   * none, as the Pod Identity agent answers. Never read from the environment.
   */
  roleArn?: string | undefined;
  /** Added as `AccountId` (the SDK v3 builds account-based endpoints from it). Default: the credentials' account, else the one in `roleArn`. */
  accountId?: string | undefined;
  /** Default 127.0.0.1. Any other address exposes the credentials to whoever can reach it and holds the token. */
  host?: string | undefined;
  /** Default `/v1/credentials`. */
  path?: string | undefined;
  /**
   * Further credentials, each served at `<path>/<name>` from its own provider
   * (a refresh engine, used as `provider` is), under the same token rule: one
   * endpoint for several roles, as several named profiles of one `serve`.
   * Names are single path segments of letters, digits, `.`, `_` and `-`.
   * Their answers carry the role their own credentials name (never `roleArn`).
   */
  profiles?: Readonly<Record<string, ServedCredentialsOptions["provider"]>> | undefined;
}

/** `listen`'s `url` is the credentials URL, for `AWS_CONTAINER_CREDENTIALS_FULL_URI`. */
export type ContainerCredentialsServer = CredentialsServer;

const json = (status: number, route: string, body: unknown, headers?: Record<string, string>): Reply => ({
  status,
  route,
  contentType: "application/json",
  body: JSON.stringify(body),
  headers,
});

/** The `{Code, Message}` error the AWS SDKs' container provider surfaces. */
export const containerError = (
  status: number,
  route: string,
  code: string,
  message: string,
  headers?: Record<string, string>,
): Reply => json(status, route, { Code: code, Message: message }, headers);

/** A profile's path segment under the main path. */
const PROFILE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const ERROR_CODES: Record<number, string> = {
  400: "InvalidRequest",
  403: "AccessDenied",
  404: "NotFound",
  413: "RequestTooLarge",
  500: "InternalError",
};

/**
 * The container-credentials endpoint (what ECS and the EKS Pod Identity agent
 * serve, read through `AWS_CONTAINER_CREDENTIALS_FULL_URI`) over any provider.
 * Creating it does no I/O and never throws; `listen` validates and binds.
 */
export const createContainerCredentialsServer = (
  options: ContainerCredentialsServerOptions,
): ContainerCredentialsServer => {
  const rt = resolveRuntime(options.runtime);
  const logger = options.logger ?? rt.logger;
  const auth = createAuthTokenSource(options);
  const configuredPath = options.path ?? DEFAULT_CONTAINER_CREDENTIALS_PATH;

  /** The session the credentials belong to, as they say themselves; options override (the main route only). */
  const body = (credentials: AwsCredentialIdentity, expiration: Date, main: boolean): string => {
    const session = sessionIdentity(credentials);
    const roleArn = (main ? options.roleArn : undefined) ?? session.roleArn;
    const accountId =
      (main ? options.accountId : undefined) ??
      session.accountId ??
      (roleArn ? parseRoleArn(roleArn)?.accountId : undefined);
    return JSON.stringify({
      AccessKeyId: credentials.accessKeyId,
      SecretAccessKey: credentials.secretAccessKey,
      Token: credentials.sessionToken ?? "",
      Expiration: rfc3339Seconds(expiration),
      ...(roleArn ? { RoleArn: roleArn } : {}),
      ...(accountId ? { AccountId: accountId } : {}),
    });
  };

  /** One path's credentials: its supply (engine) and its prepared answer. */
  interface Route {
    name: string | undefined;
    path: string;
    supply: CredentialSupply;
    answer: PreparedCredentialsReply<Reply>;
  }
  const route = (provider: ServedCredentialsOptions["provider"], name: string | undefined): Route => {
    const supply = createCredentialSupply(
      { ...options, provider },
      rt,
      name === undefined ? "container" : `container ${name}`,
    );
    const r: Route = {
      name,
      path: name === undefined ? configuredPath : `${configuredPath}/${name}`,
      supply,
      /** The prepared answer for these credentials, rendered when they change. */
      answer: preparedCredentialsReply(
        "container",
        (served): Reply => ({
          status: 200,
          route: r.path,
          contentType: "application/json",
          body: body(served.credentials, served.expiration, name === undefined),
          reused: true,
        }),
        logger,
      ),
    };
    return r;
  };
  const main = route(options.provider, undefined);
  const routes: Route[] = [
    main,
    ...Object.entries(options.profiles ?? {}).map(([name, provider]) => route(provider, name)),
  ];
  let byPath = new Map<string, Route>();
  // One line per failure, not per request: a failing profile's path may be asked thousands of times a second.
  const warnLimited = limitedWarnings(
    logger,
    options.runtime?.monotonicNow ?? options.runtime?.now ?? rt.monotonicNow,
  );

  const unavailable =
    (r: Route) =>
    (error: unknown): Reply => {
      warnLimited(
        r.path,
        `credbridge container: cannot serve credentials${r.name === undefined ? "" : ` of profile ${r.name}`}: ${(error as Error)?.message ?? String(error)}; answering 500`,
      );
      return containerError(
        500,
        r.path,
        "InternalError",
        "credentials are unavailable; see the server's log",
      );
    };

  const serve = (r: Route): Reply | Promise<Reply> => r.supply.answer(r.answer, unavailable(r));

  const authorize = (r: Route, presented: string, expected: ExpectedToken): Reply | Promise<Reply> =>
    tokensMatch(presented, expected)
      ? serve(r)
      : containerError(403, r.path, "AccessDenied", "the Authorization header does not match the token");

  const tokenUnavailable =
    (r: Route) =>
    (error: unknown): Reply => {
      logger?.warn(`credbridge container: ${(error as Error).message}; answering 500`);
      return containerError(500, r.path, "InternalError", "the server cannot read its authorization token");
    };

  const authorizeAndServe = (r: Route, presented: string): Reply | Promise<Reply> => {
    let expected: ExpectedToken | Promise<ExpectedToken>;
    try {
      expected = auth.current();
    } catch (error) {
      return tokenUnavailable(r)(error);
    }
    // A fixed token is checked synchronously; a token file needs a stat first.
    return expected instanceof Promise
      ? expected.then((e) => authorize(r, presented, e), tokenUnavailable(r))
      : authorize(r, presented, expected);
  };

  const http = createHttpServer({
    name: "container",
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 0,
    limits: options.limits ?? {},
    wellKnownHosts: CONTAINER_WELL_KNOWN_HOSTS,
    allowedHosts: options.allowedHosts ?? [],
    handler: (ctx) => {
      const r = byPath.get(ctx.path);
      if (!r) return containerError(404, "not-found", "NotFound", "no such path");
      if (ctx.method !== "GET") {
        return containerError(405, r.path, "MethodNotAllowed", "only GET is served", { Allow: "GET" });
      }
      const presented = ctx.req.headers.authorization;
      if (!presented) {
        return containerError(401, r.path, "Unauthorized", "the Authorization header is missing");
      }
      return authorizeAndServe(r, presented);
    },
    errorReply: (status, route, message) =>
      containerError(status, route, ERROR_CODES[status] ?? "Error", message),
    logger,
    onRequest: options.onRequest,
    url: (base) => `${base}${main.path}`,
    beforeListen: async () => {
      for (const r of routes) r.supply.validate();
      for (const r of routes.slice(1)) {
        if (!PROFILE_SEGMENT.test(r.name ?? "")) {
          throw new CredbridgeError(
            `container server: profile ${JSON.stringify(r.name)} must be one path segment of letters, digits, '.', '_' or '-'`,
            { code: "ERR_CONFIG" },
          );
        }
      }
      auth.validate();
      // A token no request could match (a missing or empty file, a line break,
      // non-ASCII) refuses the start, not every request after it.
      await auth.current();
      const target = parseTarget(configuredPath);
      if (!target.ok || configuredPath.includes("?") || target.segments.length === 0) {
        throw new CredbridgeError(
          `container server: path ${JSON.stringify(configuredPath)} must be an absolute path such as /v1/credentials`,
          { code: "ERR_CONFIG" },
        );
      }
      byPath = new Map();
      for (const r of routes) {
        r.path = r.name === undefined ? target.path : `${target.path}/${r.name}`;
        byPath.set(r.path, r);
        r.answer.forget();
        r.supply.start();
      }
    },
    afterClose: () => {
      for (const r of routes) r.supply.stop();
    },
  });

  return credentialsServer(http, main.supply);
};
