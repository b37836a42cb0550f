import { AssumeRoleWithWebIdentityCommand, STSClient, STSServiceException } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { isCredbridgeError } from "./errors.js";
import { fromWebIdentity, resolveWebIdentityConfig } from "./from-web-identity.js";
import { manualRuntime } from "./testing.js";

const sts = mockClient(STSClient);
afterEach(() => sts.reset());

const ROLE = "arn:aws:iam::111122223333:role/app";
const stsCredentials = (n: number) => ({
  Credentials: {
    AccessKeyId: `ASIAWEB${n}`,
    SecretAccessKey: `secret${n}`,
    SessionToken: `session${n}`,
    Expiration: new Date("2026-01-01T01:00:00Z"),
  },
  AssumedRoleUser: { Arn: "arn:aws:sts::111122223333:assumed-role/app/s", AssumedRoleId: "AROA:s" },
});

const serviceError = (name: string, status: number, message: string) =>
  new STSServiceException({ name, $fault: "client", $metadata: { httpStatusCode: status }, message });

const irsa = () => {
  const fake = manualRuntime({
    env: { AWS_ROLE_ARN: ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/token", AWS_REGION: "eu-west-1" },
  });
  fake.files.set("/var/run/token", "jwt-one\n");
  return fake;
};

describe("fromWebIdentity", () => {
  it("assumes the role from the environment with the token file's contents", async () => {
    const fake = irsa();
    sts.on(AssumeRoleWithWebIdentityCommand).resolves(stsCredentials(1));
    const creds = await fromWebIdentity({ runtime: fake.runtime })();
    expect(creds).toEqual({
      accessKeyId: "ASIAWEB1",
      secretAccessKey: "secret1",
      sessionToken: "session1",
      expiration: new Date("2026-01-01T01:00:00Z"),
      accountId: "111122223333",
      // The role STS confirmed in AssumedRoleUser.Arn: what servers name beside these credentials.
      roleArn: "arn:aws:iam::111122223333:role/app",
    });
    const input = sts.commandCalls(AssumeRoleWithWebIdentityCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ RoleArn: ROLE, WebIdentityToken: "jwt-one" });
    expect(input.RoleSessionName).toMatch(/^credbridge-\d+$/);
  });

  it("re-reads the token file on every fetch (the kubelet rotates it)", async () => {
    const fake = irsa();
    sts.on(AssumeRoleWithWebIdentityCommand).resolves(stsCredentials(1));
    const provider = fromWebIdentity({ runtime: fake.runtime });
    await provider();
    fake.files.set("/var/run/token", "jwt-two");
    await provider();
    const tokens = sts
      .commandCalls(AssumeRoleWithWebIdentityCommand)
      .map((c) => c.args[0].input.WebIdentityToken);
    expect(tokens).toEqual(["jwt-one", "jwt-two"]);
  });

  it("lets options win over the environment and passes session settings", async () => {
    const fake = irsa();
    fake.files.set("/other", "jwt-other");
    sts.on(AssumeRoleWithWebIdentityCommand).resolves(stsCredentials(1));
    await fromWebIdentity({
      runtime: fake.runtime,
      roleArn: "arn:aws:iam::444455556666:role/other",
      tokenFile: "/other",
      roleSessionName: "my-session",
      durationSeconds: 1800,
      policy: '{"Version":"2012-10-17"}',
      policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
    })();
    expect(sts.commandCalls(AssumeRoleWithWebIdentityCommand)[0]!.args[0].input).toMatchObject({
      RoleArn: "arn:aws:iam::444455556666:role/other",
      WebIdentityToken: "jwt-other",
      RoleSessionName: "my-session",
      DurationSeconds: 1800,
      Policy: '{"Version":"2012-10-17"}',
      PolicyArns: [{ arn: "arn:aws:iam::aws:policy/ReadOnlyAccess" }],
    });
  });

  it("uses AWS_ROLE_SESSION_NAME and rejects invalid session names", async () => {
    const fake = irsa();
    expect(
      resolveWebIdentityConfig({}, { ...fake.env, AWS_ROLE_SESSION_NAME: "from-env" }, 0).roleSessionName,
    ).toBe("from-env");
    expect(() => resolveWebIdentityConfig({ roleSessionName: "bad name!" }, fake.env, 0)).toThrow(
      /role session name "bad name!" is invalid/,
    );
  });

  it("is 'not configured' (tryNextLink) without the variables, naming what is missing", async () => {
    const fake = manualRuntime();
    const error = await fromWebIdentity({ runtime: fake.runtime })().catch((e: unknown) => e);
    expect(isCredbridgeError(error) && error.tryNextLink).toBe(true);
    expect((error as Error).message).toMatch(/AWS_WEB_IDENTITY_TOKEN_FILE.*AWS_ROLE_ARN/);
  });

  it("names the token file and the variable when it is missing or empty", async () => {
    const fake = irsa();
    fake.files.delete("/var/run/token");
    const missing = await fromWebIdentity({ runtime: fake.runtime })().catch((e: unknown) => e);
    expect(isCredbridgeError(missing) && missing.code).toBe("ERR_TOKEN_FILE");
    expect((missing as Error).message).toMatch(
      /\/var\/run\/token \(AWS_WEB_IDENTITY_TOKEN_FILE\).*does not exist/,
    );
    fake.files.set("/var/run/token", "  \n");
    await expect(fromWebIdentity({ runtime: fake.runtime })()).rejects.toThrow(/is empty/);
    expect(sts.calls()).toHaveLength(0);
  });

  it.each([
    ["AccessDenied", 403, "Not authorized to perform sts:AssumeRoleWithWebIdentity", /trust policy.*:sub/],
    ["InvalidIdentityToken", 400, "Couldn't retrieve verification key", /OIDC issuer is registered/],
    ["ExpiredTokenException", 400, "Token expired", /kubelet should rotate/],
    ["Throttling", 400, "Rate exceeded", /throttling/],
  ])("explains %s with the role and a fix, never the token", async (code, status, message, fix) => {
    const fake = irsa();
    sts.on(AssumeRoleWithWebIdentityCommand).rejects(serviceError(code, status, message));
    const error = await fromWebIdentity({ runtime: fake.runtime })().catch((e: unknown) => e);
    expect(isCredbridgeError(error)).toBe(true);
    if (!isCredbridgeError(error)) return;
    expect(error).toMatchObject({
      code: "ERR_STS",
      serviceCode: code,
      statusCode: status,
      tryNextLink: false,
    });
    expect(error.message).toContain(ROLE);
    expect(error.message).toContain(message);
    expect(error.message).toMatch(fix);
    expect(error.message).not.toContain("jwt-one");
  });

  it("rejects an STS answer without complete credentials", async () => {
    const fake = irsa();
    sts.on(AssumeRoleWithWebIdentityCommand).resolves({ Credentials: undefined });
    await expect(fromWebIdentity({ runtime: fake.runtime })()).rejects.toThrow(
      /without complete credentials/,
    );
  });
});
