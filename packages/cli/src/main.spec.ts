import { describe, expect, it } from "vitest";
import { main } from "./main.js";

/** Runs a command in process, as the bin does, with only `env`. */
const run = async (argv: string[], env: Record<string, string> = {}) => {
  let stdout = "";
  let stderr = "";
  const code = await main({
    argv,
    env: { HOME: "/nonexistent", ...env },
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
};

const WILDCARD_ROLES = [
  "arn:aws:iam::123456789012:role/*/registry",
  "arn:aws:iam::123456789012:role/?/registry",
  `arn:aws:iam::123456789012:role/${"$"}{aws:PrincipalTag/team}/registry`,
];

describe("a role ARN with a wildcard or a policy variable", () => {
  it.each(WILDCARD_ROLES)("is refused by every command, naming the flag or variable: %s", async (arn) => {
    const cases: [string[], Record<string, string>, string][] = [
      [["permission-policy", "--self-assume", "--role-arn", arn], {}, "--role-arn"],
      [
        ["trust-policy", "--pod-identity"],
        { AWS_ROLE_ARN: arn, CREDBRIDGE_SELF_ASSUME: "true" },
        "AWS_ROLE_ARN",
      ],
      [
        ["trust-policy", "--pod-identity", "--self-assume"],
        { CREDBRIDGE_ROLE_ARN: arn },
        "CREDBRIDGE_ROLE_ARN",
      ],
      [
        ["write", "--credentials-file", "/nonexistent/c", "--self-assume", "--role-arn", arn],
        {},
        "--role-arn",
      ],
      [
        ["write", "--credentials-file", "/nonexistent/c", "--self-assume"],
        { AWS_ROLE_ARN: arn, AWS_WEB_IDENTITY_TOKEN_FILE: "/nonexistent/token" },
        "AWS_ROLE_ARN",
      ],
    ];
    for (const [argv, env, where] of cases) {
      const r = await run(argv, env);
      expect(r.code, `${argv.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`credbridge: ${where} ${JSON.stringify(arn)} is not a role ARN`);
      expect(r.stdout).toBe("");
    }
  });
});

describe("permission-policy's bucket and prefix", () => {
  it.each([
    [["--s3-bucket", "a..b"], /--s3-bucket "a\.\.b" is not an S3 bucket name: no two adjacent periods/],
    [["--s3-bucket", "192.168.1.1"], /not an IP address/],
    [["--s3-bucket", "xn--abc"], /starts with xn--/],
    [
      ["--s3-bucket", "b-1x", "--s3-prefix", ".."],
      /--s3-prefix "\.\." must be the registry's rootdirectory: no '\.' or '\.\.'/,
    ],
    [["--s3-bucket", "b-1x", "--s3-prefix", "./x/../y"], /segment/],
    [
      ["--s3-bucket", "b-1x", "--s3-prefix", "a".repeat(100_000)],
      /--s3-prefix "a{80}…" .*at most 512 bytes \(100000 given\)/,
    ],
  ])("refuses case %# as S3 does (exit 2)", async (extra, message) => {
    const r = await run(["permission-policy", ...extra]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe("");
  });
});

describe("trust-policy's --oidc-issuer", () => {
  const irsa = [
    "trust-policy",
    "--irsa",
    "--account-id",
    "123456789012",
    "--namespace",
    "ns",
    "--service-account",
    "sa",
  ];

  it.each([
    "https://*/",
    "https://oidc.eks.us-east-1.amazonaws.com/id/*",
    "https://oidc.eks.us-east-1.amazonaws.com:8443/id/X",
    "https://oidc.eks.us-east-1.amazonaws.com/id/X/../../",
    "https://1.2.3.4/",
  ])("refuses %s, saying what is accepted (exit 2)", async (issuer) => {
    const r = await run([...irsa, "--oidc-issuer", issuer]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--oidc-issuer ${JSON.stringify(issuer)}`);
    expect(r.stderr).toContain("expected https://HOST[/PATH]");
    expect(r.stdout).toBe("");
  });
});

describe("settings that would have no effect", () => {
  it.each([
    [
      [
        "trust-policy",
        "--pod-identity",
        "--oidc-issuer",
        "https://oidc.example.com/id/X",
        "--namespace",
        "ns",
      ],
      {},
      "--oidc-issuer, --namespace have no effect with --pod-identity",
    ],
    [
      ["trust-policy", "--pod-identity"],
      { CREDBRIDGE_ACCOUNT_ID: "123456789012" },
      "CREDBRIDGE_ACCOUNT_ID has no effect with --pod-identity",
    ],
    [
      ["trust-policy", "--pod-identity", "--role-arn", "arn:aws:iam::123456789012:role/app"],
      {},
      "--role-arn has no effect with --pod-identity without --self-assume",
    ],
    [
      ["serve", "--imds", "127.0.0.1:0", "--file-owner", "10000:10000", "--profile", "app"],
      {},
      "--profile has no effect without --credentials-file",
    ],
    [
      ["serve", "--imds", "127.0.0.1:0"],
      { CREDBRIDGE_FILE_MODE: "0640" },
      "CREDBRIDGE_FILE_MODE has no effect without --credentials-file or --container-endpoint",
    ],
    [
      ["serve", "--credentials-file", "/nonexistent/c", "--imds-v2-only"],
      {},
      "--imds-v2-only has no effect without --imds",
    ],
  ])("%j %j: a usage error naming them", async (argv, env, message) => {
    const r = await run(argv, env);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`credbridge: ${message}`);
  });

  it("leaves alone AWS_ROLE_ARN, which IRSA sets in every pod, and booleans set false", async () => {
    const r = await run(["trust-policy", "--pod-identity"], {
      AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/app",
      CREDBRIDGE_SELF_ASSUME: "false",
    });
    expect(r.code, r.stderr).toBe(0);
  });
});
