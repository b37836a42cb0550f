import { writeFile } from "node:fs/promises";
import { fromWebIdentity, isCredbridgeError, refreshing } from "@credbridge/core";
import { mintWebIdentityToken, type StsEmulator, startStsEmulator } from "@credbridge/emulators";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";

const ROLE = "arn:aws:iam::111122223333:role/app";
let sts: StsEmulator;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let tokenFile: string;

beforeAll(async () => {
  sts = await startStsEmulator({
    roles: {
      [ROLE]: {
        trustedSubjects: ["system:serviceaccount:shop:app"],
        trustedAudiences: ["sts.amazonaws.com"],
      },
    },
  });
  tmp = await tempDir();
  tokenFile = tmp.path("token");
});
afterAll(async () => {
  await sts.close();
  await tmp.cleanup();
});
afterEach(() => sts.reset());

/** The environment a pod with IRSA sees, pointed at the emulator. */
const irsaEnv = () => ({
  AWS_ROLE_ARN: ROLE,
  AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
  AWS_REGION: "us-east-1",
  AWS_ENDPOINT_URL_STS: sts.url,
});
const writeToken = (claims: Parameters<typeof mintWebIdentityToken>[0] = {}) =>
  writeFile(tokenFile, mintWebIdentityToken({ sub: "system:serviceaccount:shop:app", ...claims }));
const provider = (extra: Record<string, string> = {}) =>
  fromWebIdentity({ runtime: { env: { ...irsaEnv(), ...extra } } });

describe("fromWebIdentity against the STS emulator (real @aws-sdk/client-sts)", () => {
  it("returns exactly the credentials STS issued, with expiration, account and role", async () => {
    await writeToken();
    const creds = await provider()();
    const issued = sts.issued.at(-1)!;
    expect(creds).toEqual({
      accessKeyId: issued.accessKeyId,
      secretAccessKey: issued.secretAccessKey,
      sessionToken: issued.sessionToken,
      expiration: issued.expiration,
      accountId: "111122223333",
      roleArn: ROLE,
    });
    const call = sts.calls[0]!;
    expect(call).toMatchObject({ action: "AssumeRoleWithWebIdentity", status: 200 });
    expect(call.params.RoleArn).toBe(ROLE);
    expect(call.params.RoleSessionName).toMatch(/^credbridge-\d+$/);
    expect(call.params.WebIdentityToken).toBe("<redacted>");
  });

  it("re-reads a rotated token between fetches", async () => {
    const p = provider();
    await writeToken({ extra: { jti: "first" } });
    await p();
    await writeToken({ extra: { jti: "second" } });
    await p();
    expect(sts.calls.map((c) => (c.tokenClaims as { jti?: string } | undefined)?.jti)).toEqual([
      "first",
      "second",
    ]);
  });

  it("names a missing or empty token file and its variable", async () => {
    await expect(provider({ AWS_WEB_IDENTITY_TOKEN_FILE: tmp.path("nope") })()).rejects.toThrow(
      new RegExp(`${tmp.path("nope")} \\(AWS_WEB_IDENTITY_TOKEN_FILE\\).*does not exist`),
    );
    await writeFile(tmp.path("empty"), "");
    await expect(provider({ AWS_WEB_IDENTITY_TOKEN_FILE: tmp.path("empty") })()).rejects.toThrow(/is empty/);
    expect(sts.calls).toHaveLength(0);
  });

  it.each([
    ["AccessDenied (sub not trusted)", { sub: "system:serviceaccount:other:app" }, "AccessDenied", /:sub/],
    ["ExpiredTokenException", { exp: Math.floor(Date.now() / 1000) - 60 }, "ExpiredTokenException", /rotate/],
  ])("explains %s", async (_name, claims, code, fix) => {
    await writeToken(claims);
    const error = await provider()().catch((e: unknown) => e);
    expect(isCredbridgeError(error) && error.serviceCode).toBe(code);
    expect((error as Error).message).toContain(ROLE);
    expect((error as Error).message).toMatch(fix);
  });

  it("explains InvalidIdentityToken for a token that is not a JWT", async () => {
    await writeFile(tokenFile, "not-a-jwt");
    const error = await provider()().catch((e: unknown) => e);
    expect(isCredbridgeError(error) && error.serviceCode).toBe("InvalidIdentityToken");
    expect((error as Error).message).not.toContain("not-a-jwt");
  });

  it("rides out Throttling and a 5xx through the SDK's retries", async () => {
    await writeToken();
    sts.fail({ code: "Throttling", times: 1 });
    sts.fail({ code: "ServiceUnavailable", times: 1 });
    const creds = await provider()();
    expect(creds.accessKeyId).toBe(sts.issued.at(-1)!.accessKeyId);
    expect(sts.calls.map((c) => c.status)).toEqual([400, 503, 200]);
  });

  it("reports persistent throttling with the code and the fix", async () => {
    await writeToken();
    sts.failAlways({ code: "Throttling" });
    const error = await provider()().catch((e: unknown) => e);
    expect(isCredbridgeError(error) && error.serviceCode).toBe("Throttling");
    expect((error as Error).message).toMatch(/retries with backoff/);
  });

  it("shares one STS call among 1000 concurrent callers of the engine", async () => {
    await writeToken();
    const engine = refreshing(provider());
    const results = await Promise.all(Array.from({ length: 1000 }, () => engine()));
    expect(sts.calls).toHaveLength(1);
    expect(new Set(results.map((c) => c.accessKeyId)).size).toBe(1);
  });
});
