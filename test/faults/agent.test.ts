import { fromPodIdentity, isCredbridgeError, type RefreshEvent, refreshing } from "@credbridge/core";
import { type PodIdentityAgent, startPodIdentityAgent } from "@credbridge/emulators";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { idle, manualClock } from "./support.js";

const MIN = 60_000;

let clock: ReturnType<typeof manualClock>;
let agent: PodIdentityAgent;

beforeAll(async () => {
  clock = manualClock();
  agent = await startPodIdentityAgent({ now: clock.now, lifetimeSeconds: 3600 });
});
afterAll(() => agent.close());
afterEach(() => agent.reset());

/** The Pod Identity client with short timeouts and fast retries, so a fault costs milliseconds. */
const client = (options: { timeoutMs?: number; maxRetries?: number } = {}) =>
  fromPodIdentity({
    uri: agent.credentialsUrl,
    authToken: agent.token,
    timeoutMs: options.timeoutMs ?? 1_000,
    maxRetries: options.maxRetries ?? 2,
    retry: { initialDelayMs: 10, maxDelayMs: 20 },
    // The agent's clock: the client checks that what it is handed has not expired.
    runtime: { env: {}, now: clock.now },
  });

const engineFor = (options: { timeoutMs?: number; maxRetries?: number } = {}) => {
  const events: RefreshEvent[] = [];
  const engine = refreshing(client(options), {
    advisoryWindowSeconds: 900,
    mandatoryWindowSeconds: 600,
    minRemainingSeconds: 60,
    observer: (e) => events.push(e),
    runtime: { now: clock.now, setTimer: clock.setTimer, random: () => 0.5 },
  });
  const lastFailure = () =>
    events.filter((e) => e.type === "refresh-failure").at(-1) as
      | Extract<RefreshEvent, { type: "refresh-failure" }>
      | undefined;
  return { engine, events, lastFailure, settle: () => idle(engine) };
};

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Error & { code?: string },
  );

describe("Pod Identity agent answering garbage", () => {
  const faults: { name: string; inject: () => void; message: RegExp }[] = [
    {
      name: "truncated JSON",
      inject: () => agent.truncated(),
      message: /body that is not JSON \(\d+ bytes\)/,
    },
    ...["AccessKeyId", "SecretAccessKey", "Token", "Expiration"].map((field) => ({
      name: `no ${field}`,
      inject: () => agent.missingField(field),
      message: new RegExp(`answered without ${field}`),
    })),
    {
      name: "an Expiration that is not RFC 3339",
      inject: () =>
        agent.fail({
          status: 200,
          body: JSON.stringify({
            AccessKeyId: "ASIA",
            SecretAccessKey: "s",
            Token: "t",
            Expiration: "Sun, 01 Mar 2026 01:00:00 GMT",
          }),
        }),
      message: /Expiration that is not an RFC 3339 date/,
    },
    {
      name: "a JSON array",
      inject: () => agent.fail({ status: 200, body: "[]" }),
      message: /JSON that is not an object/,
    },
  ];

  it.each(faults)("$name: refused at once, with a message naming what is wrong", async (fault) => {
    fault.inject();
    const error = await rejection(client()());
    expect(isCredbridgeError(error)).toBe(true);
    expect(error).toMatchObject({ code: "ERR_INVALID_RESPONSE" });
    expect(error!.message).toMatch(fault.message);
    expect(error!.message).toContain(agent.url);
    // Not retried: the agent answered, wrongly; the engine's backoff decides when to ask again.
    expect(agent.calls).toHaveLength(1);
  });

  it.each(faults)(
    "$name: the engine keeps serving the cached credentials, then takes the next good answer",
    async (fault) => {
      const { engine, lastFailure, settle } = engineFor();
      const first = await engine();
      clock.set(first.expiration!.getTime() - 5 * MIN); // mandatory window: callers wait for this refresh
      fault.inject();
      expect(await engine()).toEqual(first);
      expect(lastFailure()).toMatchObject({ servingCached: true, error: { code: "ERR_INVALID_RESPONSE" } });
      await clock.advanceTo(clock.now() + 2_000, settle);
      const next = await engine();
      expect(next.accessKeyId).toBe(agent.issued.at(-1)!.accessKeyId);
      expect(next.accessKeyId).not.toBe(first.accessKeyId);
      expect(next.sessionToken).toBe(agent.issued.at(-1)!.sessionToken);
    },
  );
});

describe("Pod Identity agent handing out expired or too-short credentials", () => {
  it("an Expiration in the past is never served; the error says what the agent sent and names the clock", async () => {
    const { engine } = engineFor();
    agent.expired({ times: Number.POSITIVE_INFINITY });
    const error = await rejection(engine());
    agent.clearFaults();
    expect(error).toMatchObject({ code: "ERR_EXPIRED" });
    expect(error!.message).toMatch(
      /answered with credentials \(key \*{4}\w{4}\) that expired at \S+Z, 60 s before this host's clock: a stale answer, or a clock skew .*\(after 3 attempts\)/,
    );
    for (const sent of agent.issued) {
      expect(error!.message).not.toContain(sent.secretAccessKey);
      expect(error!.message).not.toContain(sent.accessKeyId);
    }
    expect(engine.state()).toMatchObject({ status: "empty", accessKeyId: undefined });
  });

  it("one expired answer is an upstream fault: retried within the fetch, and the next good answer taken", async () => {
    const { engine } = engineFor();
    agent.expired();
    const credentials = await engine();
    expect(agent.calls.map((c) => c.fault ?? "ok")).toEqual(["expired", "ok"]);
    expect(credentials.accessKeyId).toBe(agent.issued.at(-1)!.accessKeyId);
  });

  it("with a cached set, an agent that keeps answering expired credentials leaves the cached set served", async () => {
    const { engine, lastFailure } = engineFor();
    const first = await engine();
    clock.set(first.expiration!.getTime() - 5 * MIN);
    agent.expired({ times: Number.POSITIVE_INFINITY });
    expect(await engine()).toEqual(first);
    agent.clearFaults();
    expect(lastFailure()?.error).toMatchObject({ code: "ERR_EXPIRED" });
  });

  it("credentials inside the margin are refused too", async () => {
    const { engine } = engineFor();
    agent.setLifetimeSeconds(45);
    try {
      await expect(engine()).rejects.toMatchObject({ code: "ERR_EXPIRED" });
    } finally {
      agent.setLifetimeSeconds(3600);
    }
  });
});

describe("Pod Identity agent hanging or failing", () => {
  it("a hung agent is cut at the timeout on each attempt, with a bounded number of retries", async () => {
    agent.hang({ times: Number.POSITIVE_INFINITY });
    const started = performance.now();
    const error = await rejection(client({ timeoutMs: 200, maxRetries: 2 })());
    const waited = performance.now() - started;
    agent.clearFaults();
    expect(error).toMatchObject({ code: "ERR_TIMEOUT" });
    expect(error!.message).toMatch(/did not answer within 200 ms \(after 3 attempts\)/);
    expect(waited).toBeGreaterThanOrEqual(550);
    expect(waited).toBeLessThan(3_000);
    expect(agent.calls).toHaveLength(3);
  });

  it("an agent restarting (5xx, 429) is retried within one fetch and the fetch succeeds", async () => {
    agent.fail({ status: 503 });
    agent.fail({ status: 429 });
    const credentials = await client()();
    expect(agent.calls.map((c) => c.status)).toEqual([503, 429, 200]);
    expect(credentials.accessKeyId).toBe(agent.issued.at(-1)!.accessKeyId);
  });

  it("a refused token (403) is not retried and the message points at the token file", async () => {
    const error = await rejection(
      fromPodIdentity({ uri: agent.credentialsUrl, authToken: "stale-token", runtime: { env: {} } })(),
    );
    expect(error).toMatchObject({ code: "ERR_HTTP", statusCode: 403 });
    expect(error!.message).toMatch(/AccessDeniedException.*check AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE/);
    expect(agent.calls).toHaveLength(1);
  });
});
