/**
 * A Node service that gets its AWS credentials in process from @credbridge/core:
 * no sidecar, no credentials file. `fromAmbient` picks IRSA, else Pod Identity,
 * else the SDK's default chain, from the environment as it is when credentials
 * are first needed; `refreshing` caches them and renews them in the background
 * before they expire, so every AWS client in the process shares one session.
 *
 * Run it from the repository root after `pnpm run build` (Node >= 22.6 strips the
 * types; add --experimental-strip-types before Node 23.6):
 *
 *   AWS_REGION=us-east-1 node examples/in-process/service.ts
 *
 * Environment: SELF_ASSUME=true assumes the role the pod already holds (its trust
 * policy must allow that: examples/iam/*self-assume*); PORT (default 8080).
 * GET /whoami calls sts:GetCallerIdentity with the shared credentials; GET /readyz
 * answers 200 while the cached credentials are fresh, with their state (no secret).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { pathToFileURL } from "node:url";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import {
  fromAmbient,
  isCredbridgeError,
  type RefreshEvent,
  type RefreshingProvider,
  refreshing,
  selfAssume,
} from "@credbridge/core";

const consoleLogger = {
  debug: () => {},
  info: (message: string) => console.log(message),
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

/** One line per refresh. Events carry the new credentials: log only what identifies them. */
const logRefresh = (event: RefreshEvent): void => {
  if (event.type === "refresh-success") {
    console.log(
      `credentials refreshed (${event.reason}) in ${event.durationMs} ms, expire ${event.expiration?.toISOString() ?? "never"}`,
    );
  } else if (event.type === "refresh-failure") {
    console.warn(
      `credentials refresh failed (${event.reason}, ${event.consecutiveFailures} in a row): ${event.error.message}; ` +
        `${event.servingCached ? "still serving the cached session" : "nothing valid to serve"}; retry at ${event.retryAt.toISOString()}`,
    );
  }
};

export interface ServiceCredentialsOptions {
  env?: Readonly<Record<string, string | undefined>> | undefined;
  logger?: typeof consoleLogger | undefined;
  onRefresh?: ((event: RefreshEvent) => void) | undefined;
}

/** Builds the provider. Calling it does no I/O: the environment is read when credentials are first needed. */
export const createCredentials = ({
  env = process.env,
  logger = consoleLogger,
  onRefresh = logRefresh,
}: ServiceCredentialsOptions = {}): RefreshingProvider => {
  const runtime = { env, logger };
  const ambient = fromAmbient({ runtime });
  const source = env.SELF_ASSUME === "true" ? selfAssume(ambient, { runtime }) : ambient;
  return refreshing(source, { name: "service", observer: onRefresh, runtime });
};

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(`${JSON.stringify(body)}\n`);
};

const main = async (): Promise<void> => {
  const credentials = createCredentials();
  // Any AWS SDK v3 client takes the provider as is; every client given it shares one cached session.
  const sts = new STSClient({ credentials });

  // Renew ahead of expiry even while no request needs credentials.
  credentials.start();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== "GET") return json(res, 405, { error: "GET only" });
    if (req.url === "/readyz") {
      const state = credentials.state();
      return json(res, state.status === "fresh" || state.status === "advisory" ? 200 : 503, state);
    }
    if (req.url === "/whoami") {
      try {
        const { Arn, Account } = await sts.send(new GetCallerIdentityCommand({}));
        return json(res, 200, { arn: Arn, account: Account });
      } catch (error) {
        // CredbridgeError messages name the fix and never a secret.
        const code = isCredbridgeError(error) ? error.code : (error as Error).name;
        return json(res, 502, { error: (error as Error).message, code });
      }
    }
    return json(res, 404, { error: "not found" });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => json(res, 500, { error: String(error) }));
  });
  const port = Number(process.env.PORT ?? 8080);
  server.listen(port, () => console.log(`listening on :${port}`));

  const shutdown = (): void => {
    credentials.stop();
    server.close(() => {
      sts.destroy();
      process.exit(0);
    });
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);

  try {
    const { Arn } = await sts.send(new GetCallerIdentityCommand({}));
    console.log(`running as ${Arn}`);
  } catch (error) {
    // Not fatal: /readyz reports it and the refresh engine keeps retrying with backoff.
    console.error(`GetCallerIdentity failed: ${(error as Error).message}`);
  }
  const { name, status, expiration, accessKeyId } = credentials.state();
  console.log(
    `credentials: ${name} ${status}, key ${accessKeyId ?? "-"}, expire ${expiration?.toISOString() ?? "-"}`,
  );
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
