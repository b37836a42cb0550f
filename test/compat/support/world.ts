import { writeFile } from "node:fs/promises";
import { fromWebIdentity, type RefreshingProvider, refreshing } from "@credbridge/core";
import {
  type IssuedCredentials,
  mintWebIdentityToken,
  type StsEmulator,
  startStsEmulator,
} from "@credbridge/emulators";
import {
  type ContainerCredentialsServer,
  createContainerCredentialsServer,
  createImdsServer,
  type ImdsServer,
  type RequestInfo,
} from "@credbridge/imds-shim";
import { writeCredentials } from "@credbridge/writer";
import { expect } from "vitest";
import { CLI } from "../../support/cli.js";
import { APP_ROLE } from "../../support/irsa.js";
import { tempDir } from "../../support/tmp.js";

/**
 * Lifetime of the sessions the emulator issues in these tests: 4 minutes, inside
 * the 5-minute refresh window of the v3 client and of aws-sdk-go's container
 * and IMDS providers and inside botocore's 10-minute mandatory window, so each
 * of those refreshes by its own expiry check at its next use instead of an hour
 * from now. The sidecar's engine keeps them (it refreshes 2 minutes before expiry).
 */
export const SESSION_SECONDS = 240;

/** Sessions issued after the rotation in the credentials-file tests: still valid after the clock jump. */
export const LONG_SESSION_SECONDS = 3600;

/** The value clients send as `Authorization` to the container endpoint. */
export const CONTAINER_TOKEN = "compat-container-token-0123456789";

/** What every client prints: the credentials it resolved. */
export interface ResolvedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string | null;
  /** ISO 8601 as the client holds it, when it tracks one. */
  expiration?: string | null;
}

/** The client resolved exactly this issued session: key, secret and token. */
export const expectIssued = (
  got: { accessKeyId: string; secretAccessKey: string; sessionToken?: string | null | undefined } | undefined,
  issued: IssuedCredentials | undefined,
) => {
  expect(issued, "the emulator issued nothing").toBeDefined();
  expect(got, "the client resolved nothing").toBeDefined();
  expect({
    accessKeyId: got!.accessKeyId,
    secretAccessKey: got!.secretAccessKey,
    sessionToken: got!.sessionToken,
  }).toEqual({
    accessKeyId: issued!.accessKeyId,
    secretAccessKey: issued!.secretAccessKey,
    sessionToken: issued!.sessionToken,
  });
};

/** The client tracks exactly the expiration STS gave. */
export const expectExpiration = (got: ResolvedCredentials, issued: IssuedCredentials) => {
  expect(got.expiration, "the client tracks no expiration").toBeTruthy();
  expect(new Date(got.expiration as string).getTime()).toBe(issued.expiration.getTime());
};

/**
 * Everything one compat test needs: the STS emulator verifying every signature
 * (so a signed call proves key, secret and session token), an IRSA token, and
 * the sidecar's refresh engine (core's `fromWebIdentity` in `refreshing`) that
 * feeds the IMDS and container servers and the credentials file. Rotation is
 * `rotate()`: the engine refreshes now, as it would 2 minutes before expiry.
 */
export const compatWorld = async () => {
  let skewMs = 0;
  const sts: StsEmulator = await startStsEmulator({
    verifySignatures: true,
    lifetimeSeconds: SESSION_SECONDS,
    now: () => Date.now() + skewMs,
  });
  const tmp = await tempDir("credbridge-compat-");
  const tokenFile = tmp.path("token");
  await writeFile(tokenFile, mintWebIdentityToken({ sub: "system:serviceaccount:shop:app" }));
  // Empty config and credentials files: present (aws-sdk v2 fails on a missing config
  // file once AWS_SDK_LOAD_CONFIG is set) and saying nothing.
  await writeFile(tmp.path("empty-config"), "");
  await writeFile(tmp.path("empty-credentials"), "");
  const engine: RefreshingProvider = refreshing(
    fromWebIdentity({
      roleArn: APP_ROLE,
      tokenFile,
      roleSessionName: "compat",
      stsEndpoint: sts.url,
      region: "us-east-1",
    }),
    { advisoryWindowSeconds: 120, mandatoryWindowSeconds: 60, minRemainingSeconds: 30, jitterSeconds: 0 },
  );
  const closers: Array<() => Promise<void>> = [];
  const served: RequestInfo[] = [];

  const issued = (): IssuedCredentials => {
    const last = sts.issued.at(-1);
    if (!last) throw new Error("the emulator has issued nothing yet");
    return last;
  };

  return {
    sts,
    tmp,
    engine,
    /** Requests the IMDS and container servers answered. */
    served,
    issued,
    /** The first session: fetched by the engine now, so tests know it before any client asks. */
    first: async (): Promise<IssuedCredentials> => {
      await engine();
      return issued();
    },
    /** The sidecar fetches a new session (one new AssumeRoleWithWebIdentity) and serves it from now on. */
    rotate: async (): Promise<IssuedCredentials> => {
      const before = sts.issued.length;
      await engine.refresh();
      expect(sts.issued.length).toBe(before + 1);
      return issued();
    },
    /**
     * Moves the emulator's clock: sessions whose expiration it passes answer
     * ExpiredToken, as STS does once a session has expired.
     */
    advanceStsClock: (seconds: number) => {
      skewMs += seconds * 1000;
    },
    /** Access keys that signed successful GetCallerIdentity calls, in order. */
    callerKeys: (): string[] =>
      sts.calls
        .filter((c) => c.action === "GetCallerIdentity" && c.status === 200)
        .map((c) => c.accessKeyId!),
    /** Error codes STS answered GetCallerIdentity with, in order. */
    callerErrors: (): string[] =>
      sts.calls.filter((c) => c.action === "GetCallerIdentity" && c.status !== 200).map((c) => c.code ?? ""),
    /** The IMDS shim on the engine; `requireToken` makes it IMDSv2-only. */
    imds: async (requireToken: boolean): Promise<{ url: string; server: ImdsServer }> => {
      const server = createImdsServer({
        provider: engine,
        minRemainingSeconds: 30,
        requireToken,
        roleArn: APP_ROLE,
        region: "us-east-1",
        onRequest: (info) => served.push(info),
      });
      const { url } = await server.listen();
      closers.push(() => server.close());
      return { url, server };
    },
    /** The container-credentials endpoint on the engine, guarded by CONTAINER_TOKEN. */
    container: async (): Promise<{ url: string; server: ContainerCredentialsServer }> => {
      const server = createContainerCredentialsServer({
        provider: engine,
        minRemainingSeconds: 30,
        authToken: CONTAINER_TOKEN,
        roleArn: APP_ROLE,
        onRequest: (info) => served.push(info),
      });
      const { url } = await server.listen();
      closers.push(() => server.close());
      return { url, server };
    },
    /** Writes the session into a shared credentials file's default profile, as `credbridge serve` does. */
    writeCredentialsFile: async (
      session: IssuedCredentials,
      path = tmp.path("credentials"),
    ): Promise<string> => {
      await writeCredentials(
        {
          accessKeyId: session.accessKeyId,
          secretAccessKey: session.secretAccessKey,
          sessionToken: session.sessionToken,
          expiration: session.expiration,
        },
        { path, profile: "default" },
      );
      return path;
    },
    /**
     * A config file whose default profile runs `credbridge process` against the
     * emulator. The IRSA settings are flags: a client that saw
     * AWS_WEB_IDENTITY_TOKEN_FILE would assume the role itself.
     */
    processConfig: async (): Promise<string> => {
      const path = tmp.path("config");
      const command = [
        process.execPath,
        CLI,
        "process",
        "--role-arn",
        APP_ROLE,
        "--web-identity-token-file",
        tokenFile,
        "--role-session-name",
        "compat",
        "--sts-endpoint",
        sts.url,
        "--region",
        "us-east-1",
        "--cache-dir",
        tmp.path("process-cache"),
      ].join(" ");
      await writeFile(path, `[default]\ncredential_process = ${command}\nregion = us-east-1\n`);
      return path;
    },
    /**
     * An environment with no AWS settings but these: empty config and credentials
     * files, and IMDS disabled unless the test points the client at one (on an
     * EC2 CI runner the real 169.254.169.254 would otherwise answer).
     */
    env: (extra: Record<string, string> = {}): Record<string, string> => ({
      PATH: "/usr/bin:/bin",
      HOME: tmp.dir,
      LANG: "C.UTF-8",
      AWS_CONFIG_FILE: tmp.path("empty-config"),
      AWS_SHARED_CREDENTIALS_FILE: tmp.path("empty-credentials"),
      AWS_REGION: "us-east-1",
      AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: "1",
      ...(extra.AWS_EC2_METADATA_SERVICE_ENDPOINT ? {} : { AWS_EC2_METADATA_DISABLED: "true" }),
      ...extra,
    }),
    close: async () => {
      for (const close of closers.splice(0).reverse()) await close();
      engine.stop();
      await sts.close();
      await tmp.cleanup();
    },
  };
};

export type CompatWorld = Awaited<ReturnType<typeof compatWorld>>;
