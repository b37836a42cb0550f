import { writeFile } from "node:fs/promises";
import type { IssuedCredentials } from "@credbridge/emulators";
import { expect, vi } from "vitest";
import { startImdsV1Proxy } from "./imds-v1-proxy.js";
import type { LineClient, Reply } from "./line-client.js";
import {
  CONTAINER_TOKEN,
  type CompatWorld,
  expectExpiration,
  expectIssued,
  LONG_SESSION_SECONDS,
  type ResolvedCredentials,
  SESSION_SECONDS,
} from "./world.js";

/** Starts one client process with this environment (the delivery path is chosen by it). */
export type StartClient = (env: Record<string, string>) => LineClient;

const creds = (reply: Reply): ResolvedCredentials => {
  expect(reply.creds, `no credentials in ${JSON.stringify(reply)}`).toBeDefined();
  return reply.creds!;
};

/**
 * `call` succeeded and STS saw it signed with exactly this session (the
 * emulator verifies each signature with the session's secret and checks its
 * token, so this covers all three values). Default: the newest session.
 */
const expectSignedBy = async (world: CompatWorld, client: LineClient, session?: IssuedCredentials) => {
  const reply = await client.ask("call");
  const expected = session ?? world.issued();
  expect(reply.arn).toBe(expected.arn);
  expect(world.callerKeys().at(-1)).toBe(expected.accessKeyId);
};

/**
 * Asks `get` until `done` holds of what `read` makes of the answer: a refresh
 * lands a moment after the use that starts it (bounded). An answer that fails
 * `read`'s checks fails at once, as when asked one by one.
 */
const askUntil = async <T>(
  client: LineClient,
  read: (reply: Reply) => T,
  done: (value: T) => boolean,
): Promise<T> => {
  let last: { value: T } | { error: unknown } | undefined;
  await vi
    .waitFor(
      async () => {
        try {
          last = { value: read(await client.ask("get")) };
        } catch (error) {
          last = { error };
          return;
        }
        if (!done(last.value)) throw new Error("not there yet");
      },
      { timeout: 30_000, interval: 100 },
    )
    .catch(() => {});
  if (last === undefined) throw new Error("the client answered no get within 30 s");
  if ("error" in last) throw last.error;
  return last.value;
};

/** Asks `get` until the client holds this session (a background refresh lands a moment later). */
const eventually = async (client: LineClient, session: IssuedCredentials): Promise<ResolvedCredentials> => {
  const last = await askUntil(client, creds, (c) => c.accessKeyId === session.accessKeyId);
  if (last.accessKeyId !== session.accessKeyId) expectIssued(last, session);
  return last;
};

export interface RefreshOptions {
  /**
   * `blocking`: the first use inside the refresh window waits for the new
   * credentials. `background`: it still gets the old ones while the refresh
   * runs, and later uses get the new ones (v3's default Node chain).
   * Default `blocking`.
   */
  refresh?: "blocking" | "background";
  /**
   * The client reports a later expiration than issued for the first session:
   * botocore stretches IMDS credentials that arrive with under 17–25 minutes left.
   */
  stretchesFirst?: boolean;
  /**
   * Whether the client can report the expiration it holds. Default true.
   * aws-sdk-go's session chain cannot: ExpiresAt is not passed through its ChainProvider.
   */
  reportsExpiration?: boolean;
  /**
   * For clients whose refresh window has not opened yet (aws-sdk v2: 15 s;
   * botocore's IMDS credentials, stretched): checks the client still holds the
   * first session after the rotation, then moves its clock into the window.
   */
  afterRotate?: (client: LineClient) => Promise<void>;
}

/**
 * The refresh story every server-backed path shares, in one client process:
 * the client resolves the sidecar's first session (4 minutes left) and signs
 * with it; the sidecar rotates to a 1-hour session; the same process, asked
 * again, resolves and signs with the new session through the SDK's own expiry
 * check (and `afterRotate`, for clients whose window needs the clock moved).
 */
const refreshStory = async (world: CompatWorld, client: LineClient, options: RefreshOptions) => {
  const first = await world.first();
  await client.ready;
  const before = creds(await client.ask("get"));
  expectIssued(before, first);
  if (options.reportsExpiration === false) {
    expect(before.expiration).toBeNull();
  } else if (options.stretchesFirst) {
    // Later than STS said: the client will not ask again before its own, stretched expiry.
    expect(new Date(before.expiration as string).getTime()).toBeGreaterThan(first.expiration.getTime());
  } else {
    expectExpiration(before, first);
  }
  await expectSignedBy(world, client, first);

  world.sts.setLifetimeSeconds(LONG_SESSION_SECONDS);
  const second = await world.rotate();
  expect(second.accessKeyId).not.toBe(first.accessKeyId);
  if (options.afterRotate) {
    expectIssued(creds(await client.ask("get")), first);
    await options.afterRotate(client);
  }
  let after = creds(await client.ask("get"));
  if (options.refresh === "background") {
    expectIssued(after, first);
    after = await eventually(client, second);
  }
  expectIssued(after, second);
  if (options.reportsExpiration !== false) expectExpiration(after, second);
  await expectSignedBy(world, client, second);
  return { first, second };
};

/** IMDSv2 only: the shim refuses reads without a session token, so a client that got credentials used v2. */
export const imdsV2Story = async (
  world: CompatWorld,
  start: StartClient,
  options: RefreshOptions & { endpointSuffix?: string } = {},
) => {
  const { url } = await world.imds(true);
  const client = start({ AWS_EC2_METADATA_SERVICE_ENDPOINT: `${url}${options.endpointSuffix ?? ""}` });
  try {
    await refreshStory(world, client, options);
  } finally {
    await client.close();
  }
  const routes = world.served.map((r) => `${r.method} ${r.path} ${r.status}`);
  expect(routes).toContain("PUT /latest/api/token 200");
  expect(routes).toContain("GET /latest/meta-data/iam/security-credentials/{role} 200");
  expect(world.served.filter((r) => r.status >= 400)).toEqual([]);
};

export interface ImdsReach {
  /**
   * How the client gets to an IMDS at this URL: the environment it needs.
   * Default AWS_EC2_METADATA_SERVICE_ENDPOINT; an SDK that ignores it (aws-sdk-go
   * before 1.34.14) runs in a namespace whose 169.254.169.254:80 is the URL.
   */
  reach?: (url: string) => Promise<Record<string, string>>;
  /** Whether the client asks for an IMDSv2 token at all. Default true; aws-sdk-go before 1.25.38 never does. */
  asksToken?: boolean;
}

/**
 * IMDSv1: the token PUT is refused with 403 (IMDSv2 unavailable), so the client
 * falls back to token-less reads, which the shim (v1 and v2, EC2's default) serves.
 * A client that never asks for a token goes straight to those reads.
 */
export const imdsV1Story = async (
  world: CompatWorld,
  start: StartClient,
  options: RefreshOptions & ImdsReach & { endpointSuffix?: string } = {},
) => {
  const { url } = await world.imds(false);
  const proxy = await startImdsV1Proxy(url);
  const client = start(
    options.reach
      ? await options.reach(proxy.url)
      : { AWS_EC2_METADATA_SERVICE_ENDPOINT: `${proxy.url}${options.endpointSuffix ?? ""}` },
  );
  try {
    await refreshStory(world, client, options);
  } finally {
    await client.close();
    await proxy.close();
  }
  const puts = proxy.seen.filter((r) => r.method === "PUT").map((r) => r.status);
  if (options.asksToken === false) expect(puts).toEqual([]);
  else expect(puts).toContain(403);
  const reads = proxy.v1Reads().filter((r) => /security-credentials\/.+/.test(r.path));
  // Both sessions were read without a token: before and after the rotation.
  expect(reads.length).toBeGreaterThanOrEqual(2);
  expect(proxy.seen.filter((r) => r.method === "GET" && r.withToken)).toEqual([]);
};

/** The container-credentials endpoint with `AWS_CONTAINER_AUTHORIZATION_TOKEN`, on loopback. */
export const containerStory = async (
  world: CompatWorld,
  start: StartClient,
  options: RefreshOptions = {},
) => {
  const { url } = await world.container();
  const client = start({
    AWS_CONTAINER_CREDENTIALS_FULL_URI: url,
    AWS_CONTAINER_AUTHORIZATION_TOKEN: CONTAINER_TOKEN,
  });
  try {
    await refreshStory(world, client, options);
  } finally {
    await client.close();
  }
  expect(world.served.length).toBeGreaterThanOrEqual(2);
  expect(world.served.filter((r) => r.status !== 200)).toEqual([]);
};

export interface FileOutcome {
  /**
   * What the client does once the session it read from the file has expired
   * and STS answers ExpiredToken: re-read the (rewritten) file and retry, or fail.
   */
  afterExpiredToken: "rereads" | "fails";
}

/**
 * The shared credentials file in one long-running process. The file holds the
 * first session; the sidecar rotates and rewrites it. No SDK has an expiration
 * for file credentials, so each keeps what it read. Then the first session
 * expires (the emulator's clock moves past it) and the client makes a call:
 * the outcome shows whether the SDK recovers by reading the file again.
 */
export const fileStory = async (
  world: CompatWorld,
  start: StartClient,
  outcome: FileOutcome & { env?: Record<string, string> },
) => {
  const first = await world.first();
  const path = await world.writeCredentialsFile(first);
  const client = start({ AWS_SHARED_CREDENTIALS_FILE: path, ...outcome.env });
  try {
    await client.ready;
    expectIssued(creds(await client.ask("get")), first);
    await expectSignedBy(world, client, first);

    world.sts.setLifetimeSeconds(LONG_SESSION_SECONDS);
    const second = await world.rotate();
    await world.writeCredentialsFile(second);
    // Read once per process: the rewritten file is not looked at while the old keys work.
    expectIssued(creds(await client.ask("get")), first);
    await expectSignedBy(world, client, first);

    world.advanceStsClock(SESSION_SECONDS + 60);
    const call = await client.send("call");
    expect(world.callerErrors().at(-1)).toBe("ExpiredToken");
    if (outcome.afterExpiredToken === "rereads") {
      expect(call.ok, call.error).toBe(true);
      expect(call.arn).toBe(second.arn);
      expect(world.callerKeys().at(-1)).toBe(second.accessKeyId);
      expectIssued(creds(await client.ask("get")), second);
    } else {
      expect(call.ok).toBe(false);
      expect(call.code).toBe("ExpiredToken");
      expectIssued(creds(await client.ask("get")), first);
    }
  } finally {
    await client.close();
  }
};

export interface ProcessOptions {
  /**
   * How the client comes to run the process again: its expiry window already
   * covers the 4-minute session (`window`), or only an ExpiredToken answer
   * makes it (`expired-token`: aws-sdk-go's process provider has no window).
   */
  rerun: "window" | "expired-token";
  /** Runs before the client is asked for a re-run (aws-sdk v2: move its clock into its 15-second window). */
  beforeRerun?: (client: LineClient) => Promise<void>;
}

/**
 * credential_process = `credbridge process`, in one long-running process. With
 * 4-minute sessions `credbridge process` fetches a new one on every run (its
 * cache answers only with more than 15 minutes left), so every run the client
 * makes is a rotation. Whatever the client holds must be exactly one of the
 * sessions the emulator issued, with its expiration, and a later one after a re-run.
 */
export const processStory = async (world: CompatWorld, start: StartClient, options: ProcessOptions) => {
  const config = await world.processConfig();
  const client = start({ AWS_CONFIG_FILE: config, AWS_SDK_LOAD_CONFIG: "1" });
  const issuedAs = (got: ResolvedCredentials): IssuedCredentials => {
    const session = world.sts.issued.find((i) => i.accessKeyId === got.accessKeyId);
    expectIssued(got, session);
    expectExpiration(got, session!);
    return session!;
  };
  const signedWithIssued = async (): Promise<string> => {
    await client.ask("call");
    const key = world.callerKeys().at(-1)!;
    expect(world.sts.issued.map((i) => i.accessKeyId)).toContain(key);
    return key;
  };
  try {
    await client.ready;
    const first = issuedAs(creds(await client.ask("get")));
    await signedWithIssued();

    if (options.rerun === "expired-token") {
      // Holds the session until it expires: no new run.
      expect(issuedAs(creds(await client.ask("get")))).toBe(first);
      expect(world.sts.issued).toHaveLength(1);
      world.advanceStsClock(SESSION_SECONDS + 60);
      expect(await signedWithIssued()).toBe(world.issued().accessKeyId);
      expect(world.callerErrors().at(-1)).toBe("ExpiredToken");
      expect(world.sts.issued).toHaveLength(2);
      expect(issuedAs(creds(await client.ask("get")))).toBe(world.issued());
      return;
    }
    if (options.beforeRerun) {
      // Not due yet: no re-run.
      expect(issuedAs(creds(await client.ask("get")))).toBe(first);
      await options.beforeRerun(client);
    }
    const later = await askUntil(
      client,
      (reply) => issuedAs(creds(reply)),
      (session) => session !== first,
    );
    expect(later.accessKeyId, "the client never ran the process again").not.toBe(first.accessKeyId);
    expect(await signedWithIssued()).not.toBe(first.accessKeyId);
  } finally {
    await client.close();
  }
};

/**
 * The container endpoint configured the way EKS Pod Identity configures a pod,
 * but on loopback: the token comes from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
 * only. The client must read the file to be authorized at all.
 */
export const containerTokenFileCheck = async (world: CompatWorld, start: StartClient) => {
  const tokenFile = world.tmp.path("eks-pod-identity-token");
  await writeFile(tokenFile, CONTAINER_TOKEN);
  const { url } = await world.container();
  const first = await world.first();
  const client = start({
    AWS_CONTAINER_CREDENTIALS_FULL_URI: url,
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
  });
  try {
    const got = creds(await client.ask("get"));
    expectIssued(got, first);
    expectExpiration(got, first);
    await expectSignedBy(world, client, first);
  } finally {
    await client.close();
  }
  expect(world.served.filter((r) => r.status !== 200)).toEqual([]);
};
