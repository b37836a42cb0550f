import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import {
  CONTAINER_RELATIVE_URI_HOST,
  ENV_CONTAINER_AUTHORIZATION_TOKEN,
  ENV_CONTAINER_AUTHORIZATION_TOKEN_FILE,
  ENV_CONTAINER_CREDENTIALS_FULL_URI,
  ENV_CONTAINER_CREDENTIALS_RELATIVE_URI,
  firstEnv,
} from "./env.js";
import { CredbridgeError, type CredbridgeErrorCode, isCredbridgeError } from "./errors.js";
import { type BackoffOptions, backoffDelay } from "./internal/backoff.js";
import { checkContainerUrl } from "./internal/check-url.js";
import { describeErrorBody, parseContainerCredentials } from "./internal/container-response.js";
import { withDeadline } from "./internal/deadline.js";
import { readTokenFile } from "./internal/token-file.js";
import { maskAccessKeyId } from "./redact.js";
import { type Runtime, type RuntimeOptions, resolveRuntime } from "./runtime.js";
import { parseAuthorizationToken } from "./wire/authorization-token.js";

export interface FromPodIdentityOptions {
  /** Full endpoint URL. Default `AWS_CONTAINER_CREDENTIALS_FULL_URI`, else `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` on 169.254.170.2. */
  uri?: string | undefined;
  /** Authorization token file, re-read on every fetch. Default `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`. */
  authTokenFile?: string | undefined;
  /** Authorization token. Default `AWS_CONTAINER_AUTHORIZATION_TOKEN` (the file wins when both are set). */
  authToken?: string | undefined;
  /** Per-attempt timeout in milliseconds. Default 2 000. */
  timeoutMs?: number | undefined;
  /** Retries after the first attempt, on 5xx, 429 and network errors. Default 3. */
  maxRetries?: number | undefined;
  /** Backoff between retries. Default 100 ms doubling to 2 s. */
  retry?: BackoffOptions | undefined;
  runtime?: RuntimeOptions | undefined;
}

interface ResolvedPodIdentityConfig {
  url: URL;
  /** Where the token comes from, for messages; never the token. */
  tokenFrom: { file: string; variable: string } | { value: string } | undefined;
}

export const resolvePodIdentityConfig = (
  options: FromPodIdentityOptions,
  env: Readonly<Record<string, string | undefined>>,
): ResolvedPodIdentityConfig => {
  let url: URL;
  if (options.uri) url = checkContainerUrl(options.uri, "fromPodIdentity uri option");
  else {
    const full = firstEnv(env, ENV_CONTAINER_CREDENTIALS_FULL_URI);
    const relative = firstEnv(env, ENV_CONTAINER_CREDENTIALS_RELATIVE_URI);
    if (full) url = checkContainerUrl(full.value, full.name);
    else if (relative)
      url = checkContainerUrl(`${CONTAINER_RELATIVE_URI_HOST}${relative.value}`, relative.name);
    else {
      throw new CredbridgeError(
        `fromPodIdentity: not configured: set ${ENV_CONTAINER_CREDENTIALS_FULL_URI} or ${ENV_CONTAINER_CREDENTIALS_RELATIVE_URI} (or the uri option)`,
        { code: "ERR_CONFIG", tryNextLink: true },
      );
    }
  }
  const file = options.authTokenFile
    ? { file: options.authTokenFile, variable: "authTokenFile option" }
    : (() => {
        const f = firstEnv(env, ENV_CONTAINER_AUTHORIZATION_TOKEN_FILE);
        return f ? { file: f.value, variable: f.name } : undefined;
      })();
  const value = options.authToken ?? env[ENV_CONTAINER_AUTHORIZATION_TOKEN];
  return { url, tokenFrom: file ?? (value ? { value } : undefined) };
};

const authorization = async (
  rt: Runtime,
  from: ResolvedPodIdentityConfig["tokenFrom"],
): Promise<string | undefined> => {
  if (!from) return undefined;
  // The container-credentials server reads the token by the same rule, so both agree on every file.
  return "file" in from
    ? readTokenFile(rt, from.file, from.variable, "container authorization token", parseAuthorizationToken)
    : parseAuthorizationToken(
        from.value,
        `the container authorization token (${ENV_CONTAINER_AUTHORIZATION_TOKEN} or the authToken option)`,
        "ERR_CONFIG",
      );
};

/** A failure worth another attempt: the agent is restarting, overloaded, or answered stale credentials. */
class Retryable extends Error {
  constructor(
    message: string,
    readonly code: CredbridgeErrorCode = "ERR_HTTP",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const fetchOnce = async (rt: Runtime, url: URL, token: string | undefined, timeoutMs: number) => {
  const where = `the container credentials endpoint ${url.origin}${url.pathname}`;
  let response: Response;
  let text: string;
  try {
    // One deadline over the headers AND the body: an answer that trickles in is cut too.
    ({ response, text } = await withDeadline(
      rt,
      timeoutMs,
      async (signal) => {
        const response = await rt.fetch(url, {
          headers: token === undefined ? {} : { Authorization: token },
          signal,
          redirect: "error",
        });
        return { response, text: await response.text() };
      },
      () => new Retryable(`${where} did not answer within ${timeoutMs} ms`, "ERR_TIMEOUT"),
    ));
  } catch (cause) {
    if (cause instanceof Retryable) throw cause;
    throw new Retryable(`${where} could not be reached: ${(cause as Error)?.message}`, "ERR_HTTP", { cause });
  }
  if (response.status >= 500 || response.status === 429) {
    throw new Retryable(`${where} answered HTTP ${response.status} ${describeErrorBody(text)}`.trim());
  }
  if (response.status !== 200) {
    const hint =
      response.status === 401 || response.status === 403 || response.status === 400
        ? `: check ${ENV_CONTAINER_AUTHORIZATION_TOKEN_FILE} (the pod-identity webhook mounts it) and the pod's association`
        : "";
    throw new CredbridgeError(
      `${where} answered HTTP ${response.status} ${describeErrorBody(text)}${hint}`.trim(),
      {
        code: "ERR_HTTP",
        statusCode: response.status,
      },
    );
  }
  const credentials = parseContainerCredentials(text, where);
  const { expiration } = credentials;
  const expiredFor = expiration === undefined ? -1 : rt.now() - expiration.getTime();
  if (expiration !== undefined && expiredFor >= 0) {
    // Not a setting to fix: a stale answer (an agent serving its cache past expiry) or a clock skew.
    throw new Retryable(
      `${where} answered with credentials (key ${maskAccessKeyId(credentials.accessKeyId)}) that expired at ${expiration.toISOString()}, ${Math.round(expiredFor / 1000)} s before this host's clock: a stale answer, or a clock skew between this host and the agent`,
      "ERR_EXPIRED",
    );
  }
  return credentials;
};

/**
 * Credentials from the container-credentials endpoint of the EKS Pod Identity
 * agent (or ECS). Each call fetches once, with bounded retries: wrap it in
 * `refreshing` to cache.
 */
export const fromPodIdentity = (options: FromPodIdentityOptions = {}): AwsCredentialIdentityProvider => {
  const rt = resolveRuntime(options.runtime);
  const timeoutMs = options.timeoutMs ?? 2_000;
  const maxRetries = options.maxRetries ?? 3;
  const backoff = { initialDelayMs: 100, maxDelayMs: 2_000, ...options.retry };
  return async (): Promise<AwsCredentialIdentity> => {
    const config = resolvePodIdentityConfig(options, rt.env);
    for (let attempt = 1; ; attempt++) {
      try {
        const token = await authorization(rt, config.tokenFrom);
        return await fetchOnce(rt, config.url, token, timeoutMs);
      } catch (error) {
        if (isCredbridgeError(error)) throw error;
        if (attempt > maxRetries) {
          throw new CredbridgeError(`${(error as Error).message} (after ${attempt} attempts)`, {
            code: error instanceof Retryable ? error.code : "ERR_HTTP",
            cause: (error as Error).cause,
          });
        }
        rt.logger?.debug?.(`credbridge: ${(error as Error).message}; retry ${attempt} of ${maxRetries}`);
        await rt.sleep(backoffDelay(attempt, rt.random, backoff));
      }
    }
  };
};
