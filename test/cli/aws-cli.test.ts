import { writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../support/cli.js";
import { irsaFixture } from "../support/irsa.js";
import { run as runProcess } from "../support/run.js";

/** Debian's AWS CLI, the client people run credential_process under. Required on these machines. */
const AWS = "/usr/bin/aws";

const run = (args: string[], env: NodeJS.ProcessEnv) =>
  runProcess(AWS, args, { env, name: AWS, missing: "install Debian's awscli" });

/** `credbridge process` for the fixture's role and STS, IRSA given on the command line. */
const processArgs = (fx: Awaited<ReturnType<typeof irsaFixture>>, cache: string, ...extra: string[]) => [
  CLI,
  "process",
  ...extra,
  "--role-arn",
  "arn:aws:iam::111122223333:role/app",
  "--web-identity-token-file",
  fx.tokenFile,
  "--sts-endpoint",
  fx.sts.url,
  "--region",
  "us-east-1",
  "--cache-dir",
  cache,
];

describe("the AWS CLI with credential_process = credbridge process", () => {
  let fx: Awaited<ReturnType<typeof irsaFixture>>;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    fx = await irsaFixture();
    const config = fx.tmp.path("config");
    // The IRSA settings go on the command line: with AWS_WEB_IDENTITY_TOKEN_FILE in
    // its environment the AWS CLI would assume the role itself and never run the process.
    const command = [process.execPath, ...processArgs(fx, fx.tmp.path("cache"))].join(" ");
    await writeFile(config, `[profile app]\ncredential_process = ${command}\nregion = us-east-1\n`);
    env = {
      PATH: process.env.PATH,
      HOME: fx.tmp.dir,
      AWS_CONFIG_FILE: config,
      AWS_SHARED_CREDENTIALS_FILE: fx.tmp.path("no-credentials"),
      AWS_PAGER: "",
    };
  });
  afterAll(() => fx.close());

  it("signs with exactly the credentials credbridge issued, and reuses the cache on the next command", async () => {
    const args = [
      "sts",
      "get-caller-identity",
      "--profile",
      "app",
      "--endpoint-url",
      fx.sts.url,
      "--output",
      "json",
    ];
    const first = await run(args, env);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      Account: "111122223333",
      Arn: expect.stringMatching(/^arn:aws:sts::111122223333:assumed-role\/app\//),
    });
    const issued = fx.sts.issued[0]!;
    const signed = fx.sts.calls.find((c) => c.action === "GetCallerIdentity")!;
    expect(signed.accessKeyId).toBe(issued.accessKeyId);
    expect(signed.sessionToken).toBe(true);

    const second = await run(args, env);
    expect(second.code, second.stderr).toBe(0);
    expect(fx.sts.calls.filter((c) => c.action === "AssumeRoleWithWebIdentity")).toHaveLength(1);
    expect(fx.sts.calls.filter((c) => c.action === "GetCallerIdentity")).toHaveLength(2);
  });
});

describe("credbridge process run from a shell, then by the AWS CLI", () => {
  let fx: Awaited<ReturnType<typeof irsaFixture>>;
  beforeAll(async () => {
    fx = await irsaFixture();
  });
  afterAll(() => fx.close());

  it("is one configuration: the AWS CLI's AWS_CONFIG_FILE does not split the cache, and the second call fetches nothing", async () => {
    const args = processArgs(fx, fx.tmp.path("shared-cache"), "--source", "web-identity");
    // From a shell: no AWS_CONFIG_FILE, and IRSA variables of another role around.
    const shell = await runProcess(process.execPath, args, {
      env: {
        PATH: process.env.PATH,
        HOME: fx.tmp.dir,
        AWS_ROLE_ARN: "arn:aws:iam::111122223333:role/unrelated",
        AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
      },
    });
    expect(shell.code, shell.stderr).toBe(0);
    const fetched = fx.sts.calls.filter((c) => c.action === "AssumeRoleWithWebIdentity");
    expect(fetched).toHaveLength(1);

    // The AWS CLI runs the same command line with AWS_CONFIG_FILE in its environment.
    const config = fx.tmp.path("config-shared-cache");
    await writeFile(
      config,
      `[profile app]\ncredential_process = ${[process.execPath, ...args].join(" ")}\nregion = us-east-1\n`,
    );
    const cli = await run(
      ["sts", "get-caller-identity", "--profile", "app", "--endpoint-url", fx.sts.url, "--output", "json"],
      {
        PATH: process.env.PATH,
        HOME: fx.tmp.dir,
        AWS_CONFIG_FILE: config,
        AWS_SHARED_CREDENTIALS_FILE: fx.tmp.path("no-credentials"),
        AWS_PAGER: "",
      },
    );
    expect(cli.code, cli.stderr).toBe(0);
    expect(fx.sts.calls.filter((c) => c.action === "AssumeRoleWithWebIdentity")).toHaveLength(1);
    const signed = fx.sts.calls.find((c) => c.action === "GetCallerIdentity");
    expect(signed?.accessKeyId).toBe(JSON.parse(shell.stdout).AccessKeyId);
  });
});
