import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { fromHttp } from "@aws-sdk/credential-provider-http";
import { main } from "@credbridge/cli";
import { manualRuntime } from "@credbridge/core/testing";
import { type RoleTrust, type StsEmulator, startStsEmulator } from "@credbridge/emulators";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { DEBIAN_PYTHON } from "../compat/support/clients.js";
import { type BuiltCredcheck, buildCredcheck } from "../compat/support/go-build.js";
import { startLineClient } from "../compat/support/line-client.js";
import { writeToken } from "../faults/support.js";
import { cleanEnv, listeningUrl, readyMetricsUrl, runCli, startCli } from "../support/cli.js";
import { IMDS_TOKEN_HEADER, imdsToken } from "../support/imds.js";
import { APP_ROLE, irsaFixture } from "../support/irsa.js";
import { tempDir } from "../support/tmp.js";

// Several named profiles in one `serve` (#20): one source engine (IRSA here), one engine per profile,
// one file with a section each, one container endpoint with a path each; read by real SDKs.

const READER = "arn:aws:iam::222233334444:role/reader";
const HOP = "arn:aws:iam::333344445555:role/hop";
const WRITER = "arn:aws:iam::444455556666:role/writer";
/** Live: a test turns the writer's trust against the pod to fail its chain alone. */
const writerTrust: RoleTrust = {};
/** reader: one hop; writer: two, the last with an external id. */
const PROFILES = `reader=${READER} writer=${HOP} writer=${WRITER},external-id=ext-1`;

let fx: Awaited<ReturnType<typeof irsaFixture>>;
let go: BuiltCredcheck;
beforeAll(async () => {
  fx = await irsaFixture({ roles: { [WRITER]: writerTrust } });
  go = await buildCredcheck();
}, 300_000);
afterAll(() => fx.close());
afterEach(() => {
  fx.sts.reset();
  delete writerTrust.trustedPrincipals;
});

const run = promisify(execFile);

/** botocore, fresh for each read: the key each profile of `file` holds and whom STS says it belongs to. */
const botocoreRead = async (file: string, profiles: string[]) => {
  const script = [
    "import json, os, sys, botocore.session",
    "out = {}",
    "for p in sys.argv[1:]:",
    "    s = botocore.session.Session(profile=p)",
    "    c = s.get_credentials().get_frozen_credentials()",
    "    sts = s.create_client('sts', endpoint_url=os.environ['STS'], region_name='us-east-1')",
    "    out[p] = {'key': c.access_key, 'arn': sts.get_caller_identity()['Arn']}",
    "print(json.dumps(out))",
  ].join("\n");
  const { stdout } = await run(DEBIAN_PYTHON, ["-c", script, ...profiles], {
    env: {
      PATH: process.env.PATH,
      HOME: fx.tmp.dir,
      AWS_SHARED_CREDENTIALS_FILE: file,
      AWS_CONFIG_FILE: fx.tmp.path("no-config"),
      STS: fx.sts.url,
    },
  });
  return JSON.parse(stdout) as Record<string, { key: string; arn: string }>;
};

/** The key a line client got and the ARN STS names it by; the client is closed either way. */
const keyAndCaller = async (client: ReturnType<typeof startLineClient>) => {
  try {
    await client.ready;
    const got = await client.ask("get");
    const call = await client.ask("call");
    return { key: got.creds!.accessKeyId, arn: call.arn! };
  } finally {
    await client.close();
  }
};

/** aws-sdk-go v1's session chain (what Harbor's registry uses) with AWS_PROFILE, a new process per read. */
const goRead = async (file: string, profile: string) => {
  const client = startLineClient(
    go.binary,
    ["session"],
    {
      PATH: process.env.PATH ?? "",
      HOME: fx.tmp.dir,
      AWS_SHARED_CREDENTIALS_FILE: file,
      AWS_CONFIG_FILE: fx.tmp.path("no-config"),
      AWS_PROFILE: profile,
      AWS_REGION: "us-east-1",
      AWS_EC2_METADATA_DISABLED: "true",
      CREDCHECK_STS_ENDPOINT: fx.sts.url,
    },
    "install Debian's golang-go and golang-github-aws-aws-sdk-go-dev",
  );
  return keyAndCaller(client);
};

/** The key STS issued last for `role`. */
const issuedFor = (role: string) => fx.sts.issued.filter((i) => i.roleArn === role).map((i) => i.accessKeyId);

/** `serve` writing both profiles of PROFILES into `file`, with metrics. */
const serveProfilesFile = (file: string) =>
  startCli(
    ["serve", "--credentials-file", file, "--metrics", "127.0.0.1:0"],
    fx.env({ CREDBRIDGE_PROFILE_ASSUME_ROLE: PROFILES }),
  );

describe("serve with named profiles", () => {
  it("botocore and aws-sdk-go v1 read two profiles from the one file across a refresh, each with its own keys", async () => {
    const file = fx.tmp.path("profiles", "credentials");
    const cli = serveProfilesFile(file);
    try {
      const metrics = await readyMetricsUrl(cli, 20_000);
      // The pod's identity fetched once for both chains: one web identity call, then each profile's hops.
      expect(fx.sts.calls.map((c) => c.action).sort()).toEqual([
        "AssumeRole",
        "AssumeRole",
        "AssumeRole",
        "AssumeRoleWithWebIdentity",
      ]);
      const before = await botocoreRead(file, ["default", "reader", "writer"]);
      expect(before.reader!.arn).toMatch(/:assumed-role\/reader\//);
      expect(before.writer!.arn).toMatch(/^arn:aws:sts::444455556666:assumed-role\/writer\//);
      expect(before.default!.arn).toMatch(/:assumed-role\/app\//);
      expect(before.reader!.key).toBe(issuedFor(READER).at(-1));
      expect(before.writer!.key).toBe(issuedFor(WRITER).at(-1));
      expect(await goRead(file, "writer")).toEqual(before.writer);
      expect(await goRead(file, "reader")).toEqual(before.reader);
      const external = fx.sts.calls.find((c) => c.params.RoleArn === WRITER);
      expect(external?.params.ExternalId).toBe("ext-1");

      // A refresh of everything: the source first, then every profile on it.
      cli.child.kill("SIGHUP");
      await expect
        .poll(
          async () => {
            const now = await botocoreRead(file, ["reader", "writer"]);
            return now.reader!.key !== before.reader!.key && now.writer!.key !== before.writer!.key;
          },
          { timeout: 20_000 },
        )
        .toBe(true);
      const after = await botocoreRead(file, ["reader", "writer"]);
      expect(after.reader!.key).toBe(issuedFor(READER).at(-1));
      expect(after.writer!.key).toBe(issuedFor(WRITER).at(-1));
      expect(after.reader!.key).not.toBe(after.writer!.key);
      expect(after.writer!.arn).toMatch(/:assumed-role\/writer\//);
      expect(await goRead(file, "writer")).toEqual(after.writer);
      expect(await goRead(file, "reader")).toEqual(after.reader);
      const exposition = await (await fetch(`${metrics}/metrics`)).text();
      expect(exposition).toMatch(/credbridge_refreshes_total\{profile="reader"\} 2/);
      expect(exposition).toMatch(/credbridge_refreshes_total\{profile="writer"\} 2/);
    } finally {
      await cli.stop();
    }
  });

  it("a failing second chain never blocks or tears the first: its section stays as written, readiness names it", async () => {
    const file = fx.tmp.path("failing", "credentials");
    const cli = serveProfilesFile(file);
    try {
      const metrics = await readyMetricsUrl(cli, 20_000);
      const before = await botocoreRead(file, ["reader", "writer"]);

      // The writer role stops trusting the pod: its chain fails from now on, the reader's does not.
      writerTrust.trustedPrincipals = ["999999999999"];
      cli.child.kill("SIGHUP");
      await cli.waitFor((l) => l.msg === "credentials refreshed" && l.profile === "reader", 20_000);
      await expect
        .poll(async () => (await botocoreRead(file, ["reader"])).reader!.key, { timeout: 20_000 })
        .not.toBe(before.reader!.key);
      const after = await botocoreRead(file, ["reader", "writer"]);
      expect(after.reader!.key).toBe(issuedFor(READER).at(-1));
      // The writer's section is the one last written, whole, and still works.
      expect(after.writer).toEqual(before.writer);
      expect(fx.sts.calls.some((c) => c.params.RoleArn === WRITER && c.code === "AccessDenied")).toBe(true);
      // Its credentials are still outside the margin, so it is still servable.
      expect((await fetch(`${metrics}/readyz`)).status).toBe(200);
    } finally {
      await cli.stop();
    }
  });

  it("a chain failing from the start: the other profile is written and served at its path; /readyz names the failing one", async () => {
    writerTrust.trustedPrincipals = ["999999999999"];
    const file = fx.tmp.path("start", "credentials");
    const tokenFile = fx.tmp.path("start-token");
    await writeFile(tokenFile, "container-token-0123456789", { mode: 0o600 });
    const cli = startCli(
      [
        "serve",
        "--credentials-file",
        file,
        "--container-endpoint",
        "127.0.0.1:0",
        "--container-auth-token-file",
        tokenFile,
        "--metrics",
        "127.0.0.1:0",
      ],
      fx.env({ CREDBRIDGE_PROFILE_ASSUME_ROLE: PROFILES }),
    );
    try {
      const container = await listeningUrl(cli, "container");
      const metrics = await listeningUrl(cli, "metrics");
      // AWS SDK v3's container provider, one per path; the reader served once it has credentials,
      // whatever the writer's chain does.
      const readerAt = fromHttp({
        awsContainerCredentialsFullUri: `${container}/reader`,
        awsContainerAuthorizationTokenFile: tokenFile,
      });
      await expect
        .poll(async () => (await readerAt().catch(() => undefined))?.accessKeyId, { timeout: 20_000 })
        .toBeDefined();
      const reader = await readerAt();
      expect(reader.accessKeyId).toBe(issuedFor(READER).at(-1));
      const main = await fromHttp({
        awsContainerCredentialsFullUri: container,
        awsContainerAuthorizationTokenFile: tokenFile,
      })();
      expect(main.accessKeyId).not.toBe(reader.accessKeyId);
      await expect(
        fromHttp({
          awsContainerCredentialsFullUri: `${container}/writer`,
          awsContainerAuthorizationTokenFile: tokenFile,
        })(),
      ).rejects.toThrow();
      const ready = await fetch(`${metrics}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.text()).toMatch(/profile writer/);
      const read = await botocoreRead(file, ["reader"]);
      expect(read.reader!.key).toBe(reader.accessKeyId);
    } finally {
      await cli.stop();
    }
  });

  it("the JS SDK v3 and aws-sdk v2 read two container-endpoint paths, each with its own keys", async () => {
    const tokenFile = fx.tmp.path("paths-token");
    const token = "container-token-paths-0123456789";
    await writeFile(tokenFile, token, { mode: 0o600 });
    const cli = startCli(
      ["serve", "--container-endpoint", "127.0.0.1:0", "--container-auth-token-file", tokenFile],
      fx.env({ CREDBRIDGE_PROFILE_ASSUME_ROLE: PROFILES }),
    );
    try {
      const container = await listeningUrl(cli, "container");
      const v3 = (name: string) =>
        fromHttp({
          awsContainerCredentialsFullUri: `${container}/${name}`,
          awsContainerAuthorizationTokenFile: tokenFile,
        })();
      const v2 = async (name: string) => {
        const client = startLineClient(
          process.execPath,
          [fileURLToPath(new URL("../compat/clients/js-v2.cjs", import.meta.url))],
          {
            PATH: process.env.PATH ?? "",
            HOME: fx.tmp.dir,
            AWS_SHARED_CREDENTIALS_FILE: fx.tmp.path("no-credentials"),
            AWS_CONFIG_FILE: fx.tmp.path("no-config"),
            AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: "1",
            AWS_EC2_METADATA_DISABLED: "true",
            AWS_CONTAINER_CREDENTIALS_FULL_URI: `${container}/${name}`,
            AWS_CONTAINER_AUTHORIZATION_TOKEN: token,
            CREDCHECK_STS_ENDPOINT: fx.sts.url,
          },
          "run pnpm install: aws-sdk is a test devDependency",
        );
        return keyAndCaller(client);
      };
      // Served as soon as each profile has its first credentials.
      await expect
        .poll(async () => (await v3("writer").catch(() => undefined))?.accessKeyId, { timeout: 20_000 })
        .toBeDefined();
      await expect
        .poll(async () => (await v3("reader").catch(() => undefined))?.accessKeyId, { timeout: 20_000 })
        .toBeDefined();
      expect((await v3("writer")).accessKeyId).toBe(issuedFor(WRITER).at(-1));
      expect((await v3("reader")).accessKeyId).toBe(issuedFor(READER).at(-1));
      const reader = await v2("reader");
      const writer = await v2("writer");
      expect(reader).toEqual({
        key: issuedFor(READER).at(-1),
        arn: expect.stringMatching(/:assumed-role\/reader\//),
      });
      expect(writer).toEqual({
        key: issuedFor(WRITER).at(-1),
        arn: expect.stringMatching(/:assumed-role\/writer\//),
      });
    } finally {
      await cli.stop();
    }
  });

  it("the policy commands say which role trusts which: the pod's role may assume each profile's first hop, each hop role trusts the one before", async () => {
    // Run beside the sidecar, with its variables: the pod's role and its profiles.
    const env = fx.env({ CREDBRIDGE_PROFILE_ASSUME_ROLE: PROFILES });
    const permission = await runCli(["permission-policy"], env);
    expect(permission.code).toBe(0);
    expect(JSON.parse(permission.stdout)).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "AssumeProfileRoles",
          Effect: "Allow",
          Action: ["sts:AssumeRole", "sts:TagSession"],
          Resource: [READER, HOP],
        },
      ],
    });
    const trust = await runCli(["trust-policy", "--assumed-by", HOP, "--external-id", "ext-1"], env);
    expect(trust.code).toBe(0);
    expect(JSON.parse(trust.stdout)).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "AssumedByPreviousHop",
          Effect: "Allow",
          Principal: { AWS: HOP },
          Action: ["sts:AssumeRole", "sts:TagSession"],
          Condition: { StringEquals: { "sts:ExternalId": "ext-1" } },
        },
      ],
    });
    const refused = await runCli(["trust-policy", "--irsa", "--assumed-by", HOP], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--assumed-by is the trust policy of a profile's hop role/);
    // The pod role's flags typed beside it would be ignored: refused, naming them.
    const ignored = await runCli(
      ["trust-policy", "--assumed-by", HOP, "--role-arn", READER, "--self-assume"],
      env,
    );
    expect(ignored.code).toBe(2);
    expect(ignored.stderr).toMatch(/--role-arn, --self-assume have no effect with --assumed-by/);
    // From the sidecar's variables they are left alone: the command runs where they are set.
    const fromEnv = await runCli(["trust-policy", "--assumed-by", HOP], {
      ...env,
      CREDBRIDGE_SELF_ASSUME: "true",
    });
    expect(fromEnv.code).toBe(0);
  });

  it("IMDS serves the one profile --imds-profile names", async () => {
    const cli = startCli(
      ["serve", "--imds", "127.0.0.1:0", "--imds-profile", "writer"],
      // IMDS alone serves the one profile: any other named one is refused (see below).
      fx.env({ CREDBRIDGE_PROFILE_ASSUME_ROLE: `writer=${HOP} writer=${WRITER},external-id=ext-1` }),
    );
    try {
      const base = await listeningUrl(cli, "imds");
      const headers = { [IMDS_TOKEN_HEADER]: await imdsToken(base) };
      const list = `${base}/latest/meta-data/iam/security-credentials/`;
      // Listed once the writer's chain has its first credentials (serve starts on the default's).
      await expect.poll(async () => (await fetch(list, { headers })).status, { timeout: 20_000 }).toBe(200);
      const role = await (await fetch(list, { headers })).text();
      expect(role).toBe("writer");
      const res = await fetch(`${list}${role}`, { headers });
      expect(((await res.json()) as { AccessKeyId: string }).AccessKeyId).toBe(issuedFor(WRITER).at(-1));
    } finally {
      await cli.stop();
    }
  });

  it("refuses IMDS serving several profiles, or one that does not exist, before any STS call", async () => {
    const env = fx.env({ CREDBRIDGE_PROFILE_ASSUME_ROLE: PROFILES });
    const two = await runCli(
      ["serve", "--imds", "127.0.0.1:0", "--imds-profile", "reader", "--imds-profile", "writer"],
      env,
    );
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/IMDS serves one role, as EC2 gives an instance one instance profile/);
    const unknown = await runCli(["serve", "--imds", "127.0.0.1:0", "--imds-profile", "nobody"], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /--imds-profile nobody names no profile; the profiles are default, reader, writer/,
    );
    const clash = await runCli(
      ["serve", "--imds", "127.0.0.1:0", "--profile-assume-role", `default=${READER}`],
      env,
    );
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/"default" is the default profile's name/);
    // With IMDS alone, profiles no output serves (they would hold /readyz for nobody).
    const unserved = await runCli(["serve", "--imds", "127.0.0.1:0", "--imds-profile", "writer"], env);
    expect(unserved.code).toBe(2);
    expect(unserved.stderr).toMatch(
      /--profile-assume-role reader: no output serves this profile — IMDS serves one \(--imds-profile, default default\); give --credentials-file or --container-endpoint/,
    );
    const none = await runCli(["serve", "--imds", "127.0.0.1:0"], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--profile-assume-role reader, writer: no output serves these profiles/);
    expect(fx.sts.calls).toHaveLength(0);
  });

  it("refuses an invalid session name at start, the same on the default chain and in a named profile", async () => {
    const file = fx.tmp.path("bad-session", "credentials");
    const env = fx.env({});
    const onDefault = await runCli(
      ["serve", "--credentials-file", file, "--assume-role", `${READER},session-name=a"b`],
      env,
    );
    const onNamed = await runCli(
      ["serve", "--credentials-file", file, "--profile-assume-role", `reader=${READER},session-name=a"b`],
      env,
    );
    for (const r of [onDefault, onNamed]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/session-name must be 2 to 64 letters, digits or any of _\+=,\.@-/);
    }
    expect(onNamed.stderr).toMatch(
      /--profile-assume-role reader "arn:aws:iam::222233334444:role\/reader": session-name/,
    );
    expect(fx.sts.calls).toHaveLength(0);
  });

  it("process --profile prints one named profile's credentials; an unknown one is refused", async () => {
    const env = fx.env({ CREDBRIDGE_PROFILE_ASSUME_ROLE: PROFILES });
    const writer = await runCli(["process", "--no-cache", "--profile", "writer"], env);
    expect(writer.code).toBe(0);
    expect((JSON.parse(writer.stdout) as { AccessKeyId: string }).AccessKeyId).toBe(issuedFor(WRITER).at(-1));
    const main = await runCli(["process", "--no-cache"], env);
    expect((JSON.parse(main.stdout) as { AccessKeyId: string }).AccessKeyId).toBe(
      fx.sts.issued.at(-1)!.accessKeyId,
    );
    expect(fx.sts.issued.at(-1)!.roleArn).toBe("arn:aws:iam::111122223333:role/app");
    const unknown = await runCli(["process", "--no-cache", "--profile", "nobody"], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /--profile nobody names no profile; the profiles are default, reader, writer/,
    );
    // Beside the sidecar, CREDBRIDGE_PROFILE names serve's default section: the default chain.
    const beside = await runCli(["process", "--no-cache"], { ...env, CREDBRIDGE_PROFILE: "app" });
    expect(beside.code).toBe(0);
    expect(fx.sts.issued.at(-1)!.roleArn).toBe("arn:aws:iam::111122223333:role/app");
    expect((JSON.parse(beside.stdout) as { AccessKeyId: string }).AccessKeyId).toBe(
      fx.sts.issued.at(-1)!.accessKeyId,
    );
  });

  it("doctor checks every profile's chain and names the broken one", async () => {
    writerTrust.trustedPrincipals = ["999999999999"];
    const result = await runCli(["doctor"], fx.env({ CREDBRIDGE_PROFILE_ASSUME_ROLE: PROFILES }));
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /ok {3}profile reader: assume-role arn:aws:iam::222233334444:role\/reader: /,
    );
    expect(result.stdout).toMatch(/ok {3}profile writer: assume-role arn:aws:iam::333344445555:role\/hop: /);
    expect(result.stdout).toMatch(
      /FAIL profile writer: assume-role arn:aws:iam::444455556666:role\/writer: .*AccessDenied/,
    );
    expect(result.stdout).toMatch(
      /result: broken at "profile writer: assume-role arn:aws:iam::444455556666:role\/writer"/,
    );
  });
});

describe("serve with named profiles, on a manual clock", () => {
  const MIN = 60_000;
  const fake = manualRuntime({ start: Date.now(), sleep: "timers" });
  const trust: RoleTrust = {};
  let sts: StsEmulator;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    sts = await startStsEmulator({ now: fake.now, roles: { [WRITER]: trust } });
    tmp = await tempDir("credbridge-serve-profiles-clock-");
  });
  afterAll(async () => {
    await sts.close();
    await tmp.cleanup();
  });

  it("after a restart, removes the section the previous process left once it expires, its role now denied", async () => {
    delete trust.trustedPrincipals;
    const tokenFile = tmp.path("token-restart");
    await writeToken(tokenFile, fake.now);
    const file = tmp.path("restart", "credentials");
    const env = cleanEnv(tmp.dir, {
      AWS_ROLE_ARN: APP_ROLE,
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL_STS: sts.url,
      CREDBRIDGE_PROFILE_ASSUME_ROLE: `reader=${READER} writer=${WRITER}`,
    });
    const start = () => {
      const stop = new AbortController();
      const log: string[] = [];
      const exited = main({
        argv: ["serve", "--credentials-file", file, "--min-remaining", "300"],
        env,
        stdout: () => {},
        stderr: (text) => log.push(text),
        clock: fake.runtime,
        stopSignal: stop.signal,
      });
      return { stop: () => stop.abort("SIGTERM"), exited, log };
    };
    const sections = async () => {
      const text = await readFile(file, "utf8").catch(() => "");
      return {
        reader: /\[reader\]\naws_access_key_id = (\S+)/.exec(text)?.[1],
        writer: /\[writer\]\naws_access_key_id = (\S+)/.exec(text)?.[1],
      };
    };
    const before = start();
    try {
      await expect.poll(async () => (await sections()).writer, { timeout: 15_000 }).toBeDefined();
    } finally {
      before.stop();
      await before.exited;
    }
    // The previous process is gone (a crash, a liveness kill) and left its sections; the writer's role is now denied.
    const left = await sections();
    const writerExpires = sts.issued.find((i) => i.accessKeyId === left.writer)!.expiration.getTime();
    trust.trustedPrincipals = ["999999999999"];
    const after = start();
    try {
      await vi.waitFor(
        async () => {
          if (fake.now() < writerExpires + 2 * MIN) await fake.advance(MIN);
          const now = await sections();
          expect(now.writer).toBeUndefined();
          expect(now.reader).toBeDefined();
        },
        { timeout: 20_000, interval: 20 },
      );
      // The section it never wrote was watched all the same: gone within the minute it expired.
      expect(fake.now()).toBeLessThanOrEqual(writerExpires + 2 * MIN);
      expect(after.log.join("")).toMatch(/removed \[writer\]/);
    } finally {
      after.stop();
      await after.exited;
      delete trust.trustedPrincipals;
    }
  });

  it("removes a failing profile's section once its credentials expire, never serving them expired; the other goes on", async () => {
    const tokenFile = tmp.path("token");
    await writeToken(tokenFile, fake.now);
    const file = tmp.path("expiry", "credentials");
    const stop = new AbortController();
    const log: string[] = [];
    const exited = main({
      argv: ["serve", "--credentials-file", file, "--min-remaining", "300"],
      env: cleanEnv(tmp.dir, {
        AWS_ROLE_ARN: APP_ROLE,
        AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
        AWS_REGION: "us-east-1",
        AWS_ENDPOINT_URL_STS: sts.url,
        CREDBRIDGE_PROFILE_ASSUME_ROLE: `reader=${READER} writer=${WRITER}`,
      }),
      stdout: () => {},
      stderr: (text) => log.push(text),
      clock: fake.runtime,
      stopSignal: stop.signal,
    });
    const sections = async () => {
      const text = await readFile(file, "utf8").catch(() => "");
      return {
        reader: /\[reader\]\naws_access_key_id = (\S+)/.exec(text)?.[1],
        writer: /\[writer\]\naws_access_key_id = (\S+)/.exec(text)?.[1],
      };
    };
    try {
      await expect.poll(async () => (await sections()).writer, { timeout: 15_000 }).toBeDefined();
      const first = await sections();
      const writerExpires = sts.issued.find((i) => i.accessKeyId === first.writer)!.expiration.getTime();
      trust.trustedPrincipals = ["999999999999"];
      // Through the refresh (the writer's fails) and past the writer's expiry, a minute at a time.
      await vi.waitFor(
        async () => {
          if (fake.now() < writerExpires + 2 * MIN) await fake.advance(MIN);
          const now = await sections();
          expect(now.writer).toBeUndefined();
          expect(now.reader).toBeDefined();
          expect(now.reader).not.toBe(first.reader);
        },
        { timeout: 20_000, interval: 20 },
      );
      // Never was an expired writer section left for a reader to take: gone within the minute it expired.
      expect(fake.now()).toBeLessThanOrEqual(writerExpires + 2 * MIN);
      expect(log.join("")).toMatch(/removed \[writer\]/);
    } finally {
      stop.abort("SIGTERM");
      await exited;
    }
  });
});
