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
