import { readFile, stat, writeFile } from "node:fs/promises";
import { fromIni } from "@aws-sdk/credential-provider-ini";
import { mintWebIdentityToken } from "@credbridge/emulators";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, runCli, startCli } from "../support/cli.js";
import { APP_ROLE, irsaFixture } from "../support/irsa.js";

const TARGET = "arn:aws:iam::444455556666:role/target";
const BRIDGE = "arn:aws:iam::222233334444:role/bridge";
let fx: Awaited<ReturnType<typeof irsaFixture>>;
beforeAll(async () => {
  fx = await irsaFixture({
    roles: {
      "arn:aws:iam::111122223333:role/picky": { trustedSubjects: ["system:serviceaccount:other:sa"] },
      "arn:aws:iam::111122223333:role/selfless": { trustsSelf: false },
    },
  });
});
afterAll(() => fx.close());
afterEach(() => fx.sts.reset());

describe("credbridge usage", () => {
  it("prints help and exits 0", async () => {
    const r = await runCli(["--help"], cleanEnv(fx.tmp.dir));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/usage: credbridge <command>/);
    const serve = await runCli(["serve", "--help"], cleanEnv(fx.tmp.dir));
    expect(serve.stdout).toMatch(/--credentials-file PATH[\s\S]*CREDBRIDGE_CREDENTIALS_FILE/);
  });

  it.each([
    [["serve", "--bogus"], /Unknown option '--bogus'/],
    [["write", "--role-arn"], /--role-arn.*argument missing/],
    [["frobnicate"], /unknown command "frobnicate"/],
    [["write", "--duration", "soon"], /--duration must be a whole number/],
    [["write", "--source", "magic"], /--source must be one of/],
    [["write", "--assume-role", "arn:aws:iam::1:role/x,color=red"], /"color=…" is not one of/],
    [["serve", "--role-arn", APP_ROLE], /at least one output/],
    [["serve", "--imds", "nope"], /--imds must be HOST:PORT/],
    [["trust-policy", "--irsa"], /--irsa needs --oidc-issuer, --namespace, --service-account/],
  ])("refuses %j with usage and exit 2", async (args, message) => {
    const r = await runCli(args as string[], fx.env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/usage: credbridge/);
    expect(r.stdout).toBe("");
  });

  it("refuses a malformed CREDBRIDGE_ boolean", async () => {
    const r = await runCli(["write"], fx.env({ CREDBRIDGE_SELF_ASSUME: "maybe" }));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/CREDBRIDGE_SELF_ASSUME must be true or false/);
  });
});

describe("credbridge write", () => {
  it("writes exactly the issued credentials, readable by the AWS SDK", async () => {
    const file = fx.tmp.path("aws", "credentials");
    const r = await runCli(["write", "--credentials-file", file, "--profile", "app"], fx.env());
    expect(r.code).toBe(0);
    const issued = fx.sts.issued.at(-1)!;
    const read = await fromIni({ profile: "app", filepath: file, configFilepath: fx.tmp.path("none") })();
    expect(read).toMatchObject({
      accessKeyId: issued.accessKeyId,
      secretAccessKey: issued.secretAccessKey,
      sessionToken: issued.sessionToken,
    });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(r.stderr).not.toContain(issued.secretAccessKey);
    expect(r.stderr).not.toContain(issued.accessKeyId);
  });

  it("is configured entirely by CREDBRIDGE_* variables: self-assume and a two-hop chain", async () => {
    const file = fx.tmp.path("env-config", "credentials");
    const r = await runCli(
      ["write"],
      fx.env({
        CREDBRIDGE_CREDENTIALS_FILE: file,
        CREDBRIDGE_SELF_ASSUME: "true",
        CREDBRIDGE_ASSUME_ROLE: `${BRIDGE},external-id=x1  ${TARGET},session-name=deploy`,
      }),
    );
    expect(r.code, r.stderr).toBe(0);
    const calls = fx.sts.calls;
    expect(calls.map((c) => [c.action, c.params.RoleArn ?? ""])).toEqual([
      ["AssumeRoleWithWebIdentity", APP_ROLE],
      ["AssumeRole", APP_ROLE],
      ["AssumeRole", BRIDGE],
      ["AssumeRole", TARGET],
    ]);
    const issued = fx.sts.issued;
    for (let i = 1; i < 4; i++) expect(calls[i]!.accessKeyId).toBe(issued[i - 1]!.accessKeyId);
    expect(calls[2]!.params.ExternalId).toBe("x1");
    expect(calls[3]!.params.RoleSessionName).toBe("deploy");
    expect(await readFile(file, "utf8")).toContain(issued[3]!.accessKeyId);
  });

  it("fails with the token file's path and variable when it is missing", async () => {
    const missing = fx.tmp.path("no-such-token");
    const r = await runCli(
      ["write", "--credentials-file", fx.tmp.path("x")],
      fx.env({ AWS_WEB_IDENTITY_TOKEN_FILE: missing }),
    );
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(missing);
    expect(r.stderr).toContain("AWS_WEB_IDENTITY_TOKEN_FILE");
  });
});

describe("credbridge process", () => {
  it("prints credential_process JSON and answers the next call from its cache", async () => {
    const args = ["process", "--cache-dir", fx.tmp.path("cache")];
    const first = await runCli(args, fx.env());
    expect(first.code, first.stderr).toBe(0);
    const out = JSON.parse(first.stdout);
    const issued = fx.sts.issued.at(-1)!;
    expect(out).toEqual({
      Version: 1,
      AccessKeyId: issued.accessKeyId,
      SecretAccessKey: issued.secretAccessKey,
      SessionToken: issued.sessionToken,
      Expiration: issued.expiration.toISOString(),
      AccountId: "111122223333",
    });
    expect(first.stderr).toBe("");
    const second = await runCli(args, fx.env());
    expect(JSON.parse(second.stdout)).toEqual(out);
    expect(fx.sts.calls).toHaveLength(1);
    const entries = await import("node:fs/promises").then((fs) => fs.readdir(fx.tmp.path("cache")));
    expect(entries).toHaveLength(1);
    expect((await stat(fx.tmp.path("cache", entries[0]!))).mode & 0o777).toBe(0o600);
    // Other options, another entry: a cached answer never crosses configurations.
    await runCli([...args, "--role-session-name", "other"], fx.env());
    expect(fx.sts.calls).toHaveLength(2);
    await runCli([...args, "--no-cache"], fx.env());
    expect(fx.sts.calls).toHaveLength(3);
  });

  it("refreshes a cache entry inside the refresh window", async () => {
    const dir = fx.tmp.path("cache-window");
    fx.sts.setLifetimeSeconds(900);
    try {
      await runCli(["process", "--cache-dir", dir], fx.env());
      await runCli(["process", "--cache-dir", dir], fx.env());
      expect(fx.sts.calls).toHaveLength(2);
    } finally {
      fx.sts.setLifetimeSeconds(undefined);
    }
  });

  it("fails with one line on stderr and nothing on stdout", async () => {
    fx.sts.failAlways({ code: "AccessDenied" });
    const r = await runCli(["process", "--no-cache"], fx.env());
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^credbridge process: sts:AssumeRoleWithWebIdentity for .* failed with AccessDenied/,
    );
    fx.sts.clearFaults();
  });
});

describe("credbridge doctor", () => {
  it("reports every step with account and ARN, and exits 0", async () => {
    const r = await runCli(["doctor", "--json", "--self-assume"], fx.env());
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.source).toMatchObject({ source: "web-identity" });
    expect(report.tokenFile).toMatchObject({
      exists: true,
      claims: { sub: "system:serviceaccount:shop:app" },
    });
    expect(report.tokenFile.expiresInSeconds).toBeGreaterThan(3600);
    expect(report.steps.map((s: { label: string; ok: boolean }) => [s.label, s.ok])).toEqual([
      ["source web-identity", true],
      ["self-assume", true],
    ]);
    expect(report.steps[1].arn).toMatch(/^arn:aws:sts::111122223333:assumed-role\/app\//);
    expect(report.steps[1].accessKeyId).toMatch(/^\*\*\*\*.{4}$/);
    for (const issued of fx.sts.issued) {
      expect(r.stdout).not.toContain(issued.secretAccessKey);
      expect(r.stdout).not.toContain(issued.accessKeyId);
    }
  });

  it("names the first broken link and the trust policy's sub as the fix", async () => {
    const r = await runCli(["doctor"], fx.env({ AWS_ROLE_ARN: "arn:aws:iam::111122223333:role/picky" }));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL source web-identity: .*AccessDenied/);
    expect(r.stdout).toMatch(/fix: .*"system:serviceaccount:shop:app"/);
    expect(r.stdout).toMatch(/result: broken at "source web-identity"/);
    const token = await readFile(fx.tokenFile, "utf8");
    expect(r.stdout).not.toContain(token);
  });

  it("names, as the fix, a trust-policy command that runs as shown and trusts this token's subject", async () => {
    const picky = "arn:aws:iam::111122223333:role/picky";
    const r = await runCli(["doctor"], fx.env({ AWS_ROLE_ARN: picky }));
    const command = /Generate one with: credbridge (trust-policy .*)$/m.exec(r.stdout)?.[1];
    expect(command, r.stdout).toContain("--namespace shop --service-account app --role-arn <role-arn>");
    const args = command!.replace("<role-arn>", picky).split(" ");
    const printed = await runCli(args, cleanEnv(fx.tmp.dir));
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toContain('"system:serviceaccount:shop:app"');
  });

  it("names the trust and permission fix when the role does not trust itself", async () => {
    const r = await runCli(
      ["doctor", "--self-assume"],
      fx.env({ AWS_ROLE_ARN: "arn:aws:iam::111122223333:role/selfless" }),
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL self-assume: .*AccessDenied/);
    expect(r.stdout).toContain("credbridge trust-policy ... --self-assume --role-arn <role-arn>");
    expect(r.stdout).toContain("credbridge permission-policy --self-assume --role-arn <role-arn>");
  });

  it("shows an expired token's claims", async () => {
    const expired = fx.tmp.path("expired-token");
    await writeFile(expired, mintWebIdentityToken({ exp: Math.floor(Date.now() / 1000) - 120 }));
    const r = await runCli(["doctor"], fx.env({ AWS_WEB_IDENTITY_TOKEN_FILE: expired }));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/exp: .*expired 2m/);
  });
});

describe("credbridge trust-policy", () => {
  const IRSA = [
    "trust-policy",
    "--irsa",
    "--oidc-issuer",
    "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC123/",
    "--namespace",
    "registry",
    "--service-account",
    "harbor",
  ];
  const ROLE = "arn:aws:iam::111122223333:role/harbor";

  it("prints an IRSA trust policy with StringEquals on sub and aud, plus self-assume", async () => {
    const r = await runCli([...IRSA, "--self-assume", "--role-arn", ROLE], cleanEnv(fx.tmp.dir));
    expect(r.code, r.stderr).toBe(0);
    const policy = JSON.parse(r.stdout);
    const [web, self] = policy.Statement;
    expect(web.Principal.Federated).toBe(
      "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC123",
    );
    expect(web.Condition).toEqual({
      StringEquals: {
        "oidc.eks.eu-west-1.amazonaws.com/id/ABC123:sub": "system:serviceaccount:registry:harbor",
        "oidc.eks.eu-west-1.amazonaws.com/id/ABC123:aud": "sts.amazonaws.com",
      },
    });
    expect(r.stdout).not.toMatch(/StringLike|\*/);
    expect(self).toMatchObject({ Principal: { AWS: ROLE }, Action: "sts:AssumeRole" });
  });

  it("run in the sidecar (AWS_ROLE_ARN and CREDBRIDGE_SELF_ASSUME=true set), prints that sidecar's policy", async () => {
    const sidecar = cleanEnv(fx.tmp.dir, {
      AWS_ROLE_ARN: ROLE,
      AWS_WEB_IDENTITY_TOKEN_FILE: fx.tokenFile,
      CREDBRIDGE_SOURCE: "web-identity",
      CREDBRIDGE_SELF_ASSUME: "true",
      CREDBRIDGE_CREDENTIALS_FILE: "/home/harbor/.aws/credentials",
      CREDBRIDGE_FILE_MODE: "0640",
      CREDBRIDGE_METRICS: "0.0.0.0:9090",
    });
    const r = await runCli(IRSA, sidecar);
    expect(r.code, r.stderr).toBe(0);
    // The sidecar's variables are every command's: none is called unknown.
    expect(r.stderr).toBe("");
    const explicit = await runCli([...IRSA, "--self-assume", "--role-arn", ROLE], cleanEnv(fx.tmp.dir));
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(explicit.stdout));
  });

  it.each([
    [["--self-assume"], /--self-assume needs the role that assumes itself: --role-arn/],
    [
      ["--self-assume", ROLE],
      /unexpected argument "arn:.*" \(--self-assume takes no value; the role is --role-arn\)/,
    ],
    [["--role-arn", "harbor"], /--role-arn "harbor" is not a role ARN/],
    [["--role-arn", ROLE, "--account-id", "444455556666"], /not the account of the role .*its own account/],
    [
      [],
      /--irsa needs the role's account, where the OIDC provider is registered: --account-id .* or --role-arn/,
    ],
  ])("refuses %j naming the fix (exit 2)", async (extra, message) => {
    const r = await runCli([...IRSA, ...extra], cleanEnv(fx.tmp.dir));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe("");
  });

  it("leaves alone an AWS_ROLE_ARN it does not need, malformed or not", async () => {
    const r = await runCli(
      ["trust-policy", "--pod-identity"],
      cleanEnv(fx.tmp.dir, { AWS_ROLE_ARN: "harbor" }),
    );
    expect(r.code, r.stderr).toBe(0);
    const irsa = await runCli(
      [...IRSA, "--account-id", "111122223333"],
      cleanEnv(fx.tmp.dir, { AWS_ROLE_ARN: "x" }),
    );
    expect(irsa.code, irsa.stderr).toBe(0);
  });

  it("prints a Pod Identity trust policy whose self-assume may pass session tags on", async () => {
    const r = await runCli(
      ["trust-policy", "--pod-identity", "--self-assume", "--role-arn", "arn:aws:iam::111122223333:role/app"],
      cleanEnv(fx.tmp.dir),
    );
    expect(r.code, r.stderr).toBe(0);
    const [pod, self] = JSON.parse(r.stdout).Statement;
    expect(pod).toMatchObject({
      Principal: { Service: "pods.eks.amazonaws.com" },
      Action: ["sts:AssumeRole", "sts:TagSession"],
    });
    expect(self).toMatchObject({
      Principal: { AWS: "arn:aws:iam::111122223333:role/app" },
      Action: ["sts:AssumeRole", "sts:TagSession"],
    });
  });
});

describe("credbridge permission-policy", () => {
  it("prints the registry's S3 actions on its bucket and prefix, and the self-assume, in one document", async () => {
    const r = await runCli(
      [
        "permission-policy",
        "--s3-bucket",
        "registry-data",
        "--s3-prefix",
        "/harbor/",
        "--self-assume",
        "--role-arn",
        "arn:aws-cn:iam::111122223333:role/harbor",
      ],
      cleanEnv(fx.tmp.dir),
    );
    expect(r.code, r.stderr).toBe(0);
    const [list, uploads, objects, self, ...rest] = JSON.parse(r.stdout).Statement;
    expect(rest).toEqual([]);
    // Listing, too, only under the prefix: the driver always lists with rootdirectory + "/...".
    expect(list).toEqual({
      Sid: "RegistryList",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: "arn:aws-cn:s3:::registry-data",
      Condition: { StringLike: { "s3:prefix": ["harbor/*"] } },
    });
    expect(uploads).toEqual({
      Sid: "RegistryUploads",
      Effect: "Allow",
      Action: "s3:ListBucketMultipartUploads",
      Resource: "arn:aws-cn:s3:::registry-data",
    });
    expect(objects.Resource).toBe("arn:aws-cn:s3:::registry-data/harbor/*");
    expect(objects.Action).toEqual([
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:ListMultipartUploadParts",
      "s3:AbortMultipartUpload",
    ]);
    expect(self).toMatchObject({ Sid: "SelfAssume", Resource: "arn:aws-cn:iam::111122223333:role/harbor" });
  });

  it.each([
    [[], /nothing to print: give --s3-bucket/],
    [["--s3-bucket", "s3://bucket"], /is not an S3 bucket name/],
    [["--s3-bucket", "bucket", "--s3-prefix", "harbor/*"], /must be the registry's rootdirectory/],
    [["--s3-prefix", "harbor"], /--s3-prefix needs --s3-bucket/],
    [["--self-assume"], /--self-assume needs the role/],
  ])("refuses %j naming the fix (exit 2)", async (extra, message) => {
    const r = await runCli(["permission-policy", ...extra], cleanEnv(fx.tmp.dir));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe("CREDBRIDGE_* variables no command reads", () => {
  it("are warned about with the closest known name, before the sidecar starts", async () => {
    const serve = startCli(
      ["serve", "--credentials-file", fx.tmp.path("typo", "credentials")],
      fx.env({ CREDBRIDGE_METRIC: "0.0.0.0:9090" }),
    );
    try {
      const warning = await serve.waitFor((l) => l.variable === "CREDBRIDGE_METRIC");
      expect(warning).toMatchObject({
        level: "warn",
        msg: "CREDBRIDGE_METRIC is not a credbridge variable and is ignored; did you mean CREDBRIDGE_METRICS?",
        closest: "CREDBRIDGE_METRICS",
      });
      // Before anything else: the first line of the sidecar's log.
      expect(JSON.parse(serve.lines[0]!)).toEqual(warning);
    } finally {
      await serve.stop();
    }
  });

  it("are named beside a usage error they may have caused; CREDBRIDGE_HELP is none, and no usage offers it", async () => {
    const r = await runCli(["serve"], fx.env({ CREDBRIDGE_CREDENTIALS_FIEL: "/x", CREDBRIDGE_HELP: "1" }));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/serve needs at least one output/);
    expect(r.stderr).toContain("did you mean CREDBRIDGE_CREDENTIALS_FILE?");
    expect(r.stderr).toContain(
      "CREDBRIDGE_HELP is not a credbridge variable and is ignored: --help is a flag only",
    );
    // Said once: logged before the command ran, not repeated with the usage.
    expect(r.stderr.split("CREDBRIDGE_CREDENTIALS_FIEL is not").length).toBe(2);
    const help = await runCli(["serve", "--help"], cleanEnv(fx.tmp.dir));
    expect(help.stdout).toMatch(/--credentials-file PATH[\s\S]*CREDBRIDGE_CREDENTIALS_FILE/);
    expect(help.stdout).not.toContain("CREDBRIDGE_HELP");
  });
});
