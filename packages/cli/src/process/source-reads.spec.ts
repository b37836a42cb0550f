import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectAmbientSource } from "@credbridge/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCommandLine } from "../args/parse.js";
import { buildChain } from "../source.js";
import { sourceReads } from "./source-reads.js";

/** Values never part of a cache key, whoever reads them. */
const SECRETS = new Set(["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"]);

let dir: string;
let token: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "credbridge-reads-"));
  token = join(dir, "token");
  await writeFile(token, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** An environment that records every variable read from it. */
const recording = (env: Record<string, string>) => {
  const read = new Set<string>();
  const proxy = new Proxy(env, {
    get: (target, key) => {
      if (typeof key === "string") read.add(key);
      return target[key as string];
    },
  });
  return { proxy, read };
};

// Nothing listens on port 1: every upstream call fails at once, after the reads that lead to it.
const NOWHERE = "http://127.0.0.1:1";

describe("sourceReads, against what core reads", () => {
  it.each<[string, string[], () => Record<string, string>]>([
    [
      "explicit web identity",
      [
        "--source",
        "web-identity",
        "--role-arn",
        "arn:aws:iam::111122223333:role/a",
        "--web-identity-token-file",
        "TOKEN",
      ],
      () => ({ AWS_ENDPOINT_URL: NOWHERE }),
    ],
    [
      "auto, IRSA from the environment",
      [],
      () => ({
        AWS_ROLE_ARN: "arn:aws:iam::111122223333:role/a",
        AWS_WEB_IDENTITY_TOKEN_FILE: token,
        AWS_ENDPOINT_URL: NOWHERE,
      }),
    ],
    [
      "auto, the IRSA pair in flags",
      ["--role-arn", "arn:aws:iam::111122223333:role/a", "--web-identity-token-file", "TOKEN"],
      () => ({ AWS_ENDPOINT_URL: NOWHERE, AWS_CONTAINER_CREDENTIALS_FULL_URI: `${NOWHERE}/c` }),
    ],
    ["auto, Pod Identity", [], () => ({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `${NOWHERE}/c` })],
    [
      "explicit Pod Identity, self-assumed",
      ["--source", "pod-identity", "--self-assume"],
      () => ({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `${NOWHERE}/c` }),
    ],
    [
      "explicit web identity, then a role",
      [
        "--source",
        "web-identity",
        "--web-identity-token-file",
        "TOKEN",
        "--assume-role",
        "arn:aws:iam::444455556666:role/b",
      ],
      () => ({ AWS_ROLE_ARN: "arn:aws:iam::111122223333:role/a", AWS_ENDPOINT_URL: NOWHERE }),
    ],
  ])("%s: every variable core reads is in the key", async (_, rawArgs, makeEnv) => {
    const args = rawArgs.map((a) => (a === "TOKEN" ? token : a));
    const env = makeEnv();
    const flags = parseCommandLine(["process", ...args], env).flags;
    const { proxy, read } = recording(env);
    const chain = buildChain(flags, proxy, undefined, "process");
    // What the credentials depend on is read when they are fetched (buildChain's own
    // detection, for doctor's report, decides nothing when --source is explicit).
    read.clear();
    await chain.provider().catch(() => {});
    const coreReads = [...read].filter((n) => n.startsWith("AWS_") && !SECRETS.has(n));
    const key = sourceReads(flags, env);
    expect(
      coreReads.filter((n) => !key.includes(n)),
      `read by core, missing from the key`,
    ).toEqual([]);
    expect(coreReads.length).toBeGreaterThan(0);
  });

  it.each<[Record<string, string>, Record<string, string>]>([
    [{}, { AWS_ROLE_ARN: "a", AWS_WEB_IDENTITY_TOKEN_FILE: "/t" }],
    [
      { "role-arn": "a" },
      { AWS_WEB_IDENTITY_TOKEN_FILE: "/t", AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://x" },
    ],
    [{}, { AWS_WEB_IDENTITY_TOKEN_FILE: "/t", AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2" }],
    [{}, { AWS_ROLE_ARN: " ", AWS_WEB_IDENTITY_TOKEN_FILE: "/t" }],
    [{}, {}],
  ])("detects as core does: flags %j, env %j", (flags, env) => {
    const detected = detectAmbientSource(env, {
      webIdentity: { roleArn: flags["role-arn"], tokenFile: flags["web-identity-token-file"] },
    }).source;
    const reads = sourceReads(flags, env);
    const picked = reads.includes("AWS_ACCESS_KEY_ID")
      ? "default"
      : reads.includes("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
        ? "pod-identity"
        : "web-identity";
    expect(picked).toBe(detected);
  });
});
