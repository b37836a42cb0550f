import type { IssuedCredentials } from "@credbridge/emulators";
import { describe, expect, it } from "vitest";
import { run as runProcess } from "../support/run.js";
import { startImdsV1Proxy } from "./support/imds-v1-proxy.js";
import { CONTAINER_TOKEN, type CompatWorld, compatWorld, expectIssued } from "./support/world.js";

// Debian's AWS CLI (awscli, /usr/bin/aws, with its own vendored botocore). Every
// command is a new process: nothing is long-running, so each command resolves
// credentials afresh from the path, and a rotation counts from the next command.

const AWS = "/usr/bin/aws";

const runAws = (args: string[], env: Record<string, string>) =>
  runProcess(AWS, [...args, "--region", "us-east-1", "--output", "json"], {
    env: { ...env, AWS_PAGER: "" },
    name: AWS,
    missing: "install Debian's awscli",
  });

/** Each test its own world: the tests run concurrently. */
const withWorld = async (test: (world: CompatWorld) => Promise<void>) => {
  const world = await compatWorld();
  try {
    await test(world);
  } finally {
    await world.close();
  }
};

/** `aws sts get-caller-identity`, answered by the emulator: the signer's key is returned. */
const callerIdentity = async (world: CompatWorld, env: Record<string, string>): Promise<string> => {
  const run = await runAws(["sts", "get-caller-identity", "--endpoint-url", world.sts.url], env);
  expect(run.code, run.stderr).toBe(0);
  const key = world.callerKeys().at(-1)!;
  expect(JSON.parse(run.stdout).Arn).toBe(world.sts.issued.find((i) => i.accessKeyId === key)?.arn);
  return key;
};

/** `aws configure export-credentials`: the credentials the CLI resolved, verbatim. */
const exported = async (env: Record<string, string>) => {
  const run = await runAws(["configure", "export-credentials", "--format", "process"], env);
  expect(run.code, run.stderr).toBe(0);
  const out = JSON.parse(run.stdout) as {
    AccessKeyId: string;
    SecretAccessKey: string;
    SessionToken: string;
  };
  return {
    accessKeyId: out.AccessKeyId,
    secretAccessKey: out.SecretAccessKey,
    sessionToken: out.SessionToken,
  };
};

/**
 * Two commands, one on each side of a rotation: `configure export-credentials`
 * prints exactly the first session; after the sidecar rotates (and `publish`
 * hands the session to a path the engine does not serve, the file), the next
 * command's `sts get-caller-identity` is signed with the new session (the
 * emulator verifies the signature with its secret and checks its token).
 */
const oneShotStory = async (
  world: CompatWorld,
  env: Record<string, string>,
  publish?: (session: IssuedCredentials) => Promise<void>,
) => {
  const first = await world.first();
  await publish?.(first);
  expectIssued(await exported(env), first);
  world.sts.setLifetimeSeconds(3600);
  const second = await world.rotate();
  await publish?.(second);
  expect(await callerIdentity(world, env)).toBe(second.accessKeyId);
};

// Sequential: each command is a Python start-up; run side by side they only compete for the CPU.
describe("AWS CLI (Debian awscli)", () => {
  it("IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT)", () =>
    withWorld(async (world) => {
      const { url } = await world.imds(true);
      await oneShotStory(world, world.env({ AWS_EC2_METADATA_SERVICE_ENDPOINT: `${url}/` }));
      expect(world.served.filter((r) => r.status >= 400)).toEqual([]);
    }));

  it("IMDS endpoint without a trailing slash: the CLI's botocore builds an invalid URL", () =>
    withWorld(async (world) => {
      const { url } = await world.imds(true);
      const run = await runAws(
        ["configure", "export-credentials", "--format", "process"],
        world.env({ AWS_EC2_METADATA_SERVICE_ENDPOINT: url }),
      );
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain(`${url}latest/api/token`);
    }));

  it("IMDSv1: falls back when the token PUT is refused (403)", () =>
    withWorld(async (world) => {
      const { url } = await world.imds(false);
      const proxy = await startImdsV1Proxy(url);
      try {
        await oneShotStory(world, world.env({ AWS_EC2_METADATA_SERVICE_ENDPOINT: `${proxy.url}/` }));
        expect(proxy.seen.filter((r) => r.method === "PUT").map((r) => r.status)).toContain(403);
        expect(proxy.seen.filter((r) => r.method === "GET" && r.withToken)).toEqual([]);
      } finally {
        await proxy.close();
      }
    }));

  it("container endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN)", () =>
    withWorld(async (world) => {
      const { url } = await world.container();
      await oneShotStory(
        world,
        world.env({
          AWS_CONTAINER_CREDENTIALS_FULL_URI: url,
          AWS_CONTAINER_AUTHORIZATION_TOKEN: CONTAINER_TOKEN,
        }),
      );
    }));

  it("container endpoint at EKS Pod Identity's agent address: refused by the CLI's botocore", () =>
    withWorld(async (world) => {
      const run = await runAws(
        ["configure", "export-credentials", "--format", "process"],
        world.env({
          AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://169.254.170.23/v1/credentials",
          AWS_CONTAINER_AUTHORIZATION_TOKEN: CONTAINER_TOKEN,
        }),
      );
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/169\.254\.170\.23/);
    }));

  it("credentials file: each command reads the file, so a rewritten file counts from the next command", () =>
    withWorld(async (world) => {
      const path = world.tmp.path("credentials");
      await oneShotStory(world, world.env({ AWS_SHARED_CREDENTIALS_FILE: path }), async (session) => {
        await world.writeCredentialsFile(session, path);
      });
    }));

  it("credential_process = credbridge process: each command runs it", () =>
    withWorld(async (world) => {
      const env = world.env({ AWS_CONFIG_FILE: await world.processConfig() });
      const got = await exported(env);
      expectIssued(got, world.issued());
      // 4-minute sessions: `credbridge process` fetches a new one on every run.
      const signer = await callerIdentity(world, env);
      expect(signer).toBe(world.issued().accessKeyId);
      expect(signer).not.toBe(got.accessKeyId);
    }));
});
