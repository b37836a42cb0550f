import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  type Credentials,
  GetCallerIdentityCommand,
  STSClient,
  type STSClientConfig,
} from "@aws-sdk/client-sts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mintWebIdentityToken } from "../jwt.js";
import { type StartStsEmulatorOptions, type StsEmulator, startStsEmulator } from "./server.js";

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const ROLE = "arn:aws:iam::111122223333:role/app-role";
const TARGET = "arn:aws:iam::444455556666:role/path/to/target-role";
const USER_KEY = "AKIAEMULATORTESTKEY1";
const USER_SECRET = "user-secret-user-secret-user-secret-0000";
const USER_ARN = "arn:aws:iam::111122223333:user/ci";

type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

let clock = T0;
let sts: StsEmulator;
const clients: STSClient[] = [];

const start = async (options: StartStsEmulatorOptions = {}) => {
  await sts?.close();
  sts = await startStsEmulator({
    now: () => clock,
    baseIdentities: { [USER_KEY]: { arn: USER_ARN, secretAccessKey: USER_SECRET } },
    ...options,
  });
};

const client = (credentials?: Creds, extra: Partial<STSClientConfig> = {}): STSClient => {
  const c = new STSClient({
    endpoint: sts.url,
    region: "us-east-1",
    credentials: credentials ?? { accessKeyId: "AKIDUNUSED", secretAccessKey: "unused" },
    ...extra,
  });
  clients.push(c);
  return c;
};

const fromResult = (c: Credentials | undefined) => ({
  accessKeyId: c!.AccessKeyId!,
  secretAccessKey: c!.SecretAccessKey!,
  sessionToken: c!.SessionToken!,
});

const webIdentity = (overrides: { token?: string; roleArn?: string } = {}) =>
  client().send(
    new AssumeRoleWithWebIdentityCommand({
      RoleArn: overrides.roleArn ?? ROLE,
      RoleSessionName: "pod-session",
      WebIdentityToken: overrides.token ?? mintWebIdentityToken({ now: () => clock }),
    }),
  );

const rejection = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    return error as Error & { Code?: string; $metadata?: { httpStatusCode?: number } };
  }
  throw new Error("expected the call to fail");
};

beforeEach(async () => {
  clock = T0;
  await start();
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await sts.close();
});

describe("STS emulator with the real @aws-sdk/client-sts", () => {
  it("chains web identity → AssumeRole → GetCallerIdentity, each hop signed by the previous one", async () => {
    const hop1 = await webIdentity();
    expect(hop1.Credentials?.AccessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
    expect(hop1.Credentials?.SecretAccessKey).toHaveLength(40);
    expect(hop1.Credentials?.Expiration?.getTime()).toBe(T0 + 3600_000);
    expect(hop1.AssumedRoleUser?.Arn).toBe("arn:aws:sts::111122223333:assumed-role/app-role/pod-session");
    expect(hop1.AssumedRoleUser?.AssumedRoleId).toMatch(/^AROA[A-Z2-7]{17}:pod-session$/);
    expect(hop1.SubjectFromWebIdentityToken).toBe("system:serviceaccount:default:app");
    expect(hop1.Provider).toBe("oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE0123456789");
    expect(hop1.Audience).toBe("sts.amazonaws.com");
    const creds1 = fromResult(hop1.Credentials);

    const hop2 = await client(creds1).send(
      new AssumeRoleCommand({ RoleArn: TARGET, RoleSessionName: "hop2", DurationSeconds: 900 }),
    );
    expect(hop2.AssumedRoleUser?.Arn).toBe("arn:aws:sts::444455556666:assumed-role/target-role/hop2");
    expect(hop2.Credentials?.Expiration?.getTime()).toBe(T0 + 900_000);
    expect(sts.calls[1]).toMatchObject({
      action: "AssumeRole",
      accessKeyId: creds1.accessKeyId,
      sessionToken: true,
      region: "us-east-1",
      status: 200,
    });
    expect(sts.issued[1]).toMatchObject({ parentAccessKeyId: creds1.accessKeyId, roleArn: TARGET });

    const who = await client(fromResult(hop2.Credentials)).send(new GetCallerIdentityCommand({}));
    expect(who).toMatchObject({
      Arn: "arn:aws:sts::444455556666:assumed-role/target-role/hop2",
      Account: "444455556666",
      UserId: hop2.AssumedRoleUser?.AssumedRoleId,
    });
    expect(sts.calls.map((c) => c.action)).toEqual([
      "AssumeRoleWithWebIdentity",
      "AssumeRole",
      "GetCallerIdentity",
    ]);
    expect(sts.calls[0]?.accessKeyId).toBeUndefined();
  });

  it("matches what it logged as issued with what the client received", async () => {
    const out = await webIdentity();
    const [issued] = sts.issued;
    expect(issued).toMatchObject({
      ...fromResult(out.Credentials),
      expiration: out.Credentials?.Expiration,
      roleArn: ROLE,
      sessionName: "pod-session",
      arn: out.AssumedRoleUser?.Arn,
      issuedBy: "AssumeRoleWithWebIdentity",
    });
  });

  it("never logs the web identity token, only its claims", async () => {
    const token = mintWebIdentityToken({ now: () => clock, sub: "system:serviceaccount:ns:sa" });
    await webIdentity({ token });
    expect(sts.calls[0]?.params.WebIdentityToken).toBe("<redacted>");
    expect(sts.calls[0]?.tokenClaims?.sub).toBe("system:serviceaccount:ns:sa");
    expect(JSON.stringify(sts.calls)).not.toContain(token.split(".")[2]);
  });

  it("identifies base identities and lets them ask for long sessions (not role chaining)", async () => {
    const user = { accessKeyId: USER_KEY, secretAccessKey: USER_SECRET };
    const who = await client(user).send(new GetCallerIdentityCommand({}));
    expect(who).toMatchObject({ Arn: USER_ARN, Account: "111122223333" });
    expect(who.UserId).toMatch(/^AIDA[A-Z2-7]{17}$/);
    const out = await client(user).send(
      new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "long", DurationSeconds: 7200 }),
    );
    expect(out.Credentials?.Expiration?.getTime()).toBe(T0 + 7200_000);
  });

  it("refuses a session used without its session token: InvalidClientTokenId", async () => {
    const creds = fromResult((await webIdentity()).Credentials);
    const error = await rejection(
      client({ ...creds, sessionToken: "not-the-issued-token" }).send(new GetCallerIdentityCommand({})),
    );
    expect(error.name).toBe("InvalidClientTokenId");
    expect(error.$metadata?.httpStatusCode).toBe(403);
    const { sessionToken: _dropped, ...withoutToken } = creds;
    const error2 = await rejection(client(withoutToken).send(new GetCallerIdentityCommand({})));
    expect(error2.name).toBe("InvalidClientTokenId");
    expect(sts.calls.at(-1)?.sessionToken).toBe(false);
  });

  it("refuses keys it never issued: InvalidClientTokenId", async () => {
    const error = await rejection(
      client({ accessKeyId: "AKIANOTKNOWN00000000", secretAccessKey: "x" }).send(
        new GetCallerIdentityCommand({}),
      ),
    );
    expect(error.name).toBe("InvalidClientTokenId");
    expect(sts.calls[0]).toMatchObject({
      accessKeyId: "AKIANOTKNOWN00000000",
      status: 403,
      code: "InvalidClientTokenId",
    });
  });

  it("refuses expired sessions with ExpiredToken, by its own clock", async () => {
    const creds = fromResult((await webIdentity()).Credentials);
    clock = T0 + 3600_000;
    const error = await rejection(client(creds).send(new GetCallerIdentityCommand({})));
    expect(error.name).toBe("ExpiredToken");
    expect(error.$metadata?.httpStatusCode).toBe(400);
  });

  it("refuses revoked sessions", async () => {
    const creds = fromResult((await webIdentity()).Credentials);
    expect(sts.revoke(creds.accessKeyId)).toBe(true);
    const error = await rejection(client(creds).send(new GetCallerIdentityCommand({})));
    expect(error.name).toBe("InvalidClientTokenId");
  });

  it("caps role chaining at one hour with STS's ValidationError", async () => {
    const creds = fromResult((await webIdentity()).Credentials);
    const error = await rejection(
      client(creds).send(
        new AssumeRoleCommand({ RoleArn: TARGET, RoleSessionName: "ss", DurationSeconds: 3601 }),
      ),
    );
    expect(error.name).toBe("ValidationError");
    expect(error.message).toBe(
      "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    );
    expect(error.$metadata?.httpStatusCode).toBe(400);
    const ok = await client(creds).send(new AssumeRoleCommand({ RoleArn: TARGET, RoleSessionName: "ok" }));
    expect(ok.Credentials?.Expiration?.getTime()).toBe(T0 + 3600_000);
  });

  it("validates RoleArn, RoleSessionName and DurationSeconds like STS", async () => {
    const user = client({ accessKeyId: USER_KEY, secretAccessKey: USER_SECRET });
    const bad = async (input: { RoleArn: string; RoleSessionName: string; DurationSeconds?: number }) =>
      rejection(user.send(new AssumeRoleCommand(input)));

    const arn = await bad({ RoleArn: "arn:aws:iam::12345:role/short-account", RoleSessionName: "ok" });
    expect([arn.name, arn.message]).toEqual(["ValidationError", "Request ARN is invalid"]);
    const name = await bad({ RoleArn: ROLE, RoleSessionName: "x" });
    expect(name.message).toBe(
      "1 validation error detected: Value 'x' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2",
    );
    const chars = await bad({ RoleArn: ROLE, RoleSessionName: "has space" });
    expect(chars.message).toContain("Member must satisfy regular expression pattern");
    const short = await bad({ RoleArn: ROLE, RoleSessionName: "ok", DurationSeconds: 899 });
    expect(short.message).toContain("Member must have value greater than or equal to 900");
    const long = await bad({ RoleArn: ROLE, RoleSessionName: "ok", DurationSeconds: 43_201 });
    expect(long.message).toContain("Member must have value less than or equal to 43200");
    const two = await bad({ RoleArn: ROLE, RoleSessionName: "x", DurationSeconds: 1 });
    expect(two.message).toMatch(/^2 validation errors detected: /);
    expect(sts.calls.every((c) => c.status === 400 && c.code === "ValidationError")).toBe(true);
  });

  it("answers ExpiredTokenException for an expired web identity token", async () => {
    const exp = Math.floor(T0 / 1000) - 10;
    const error = await rejection(webIdentity({ token: mintWebIdentityToken({ exp, iat: exp - 3600 }) }));
    expect(error.name).toBe("ExpiredTokenException");
    expect(error.message).toBe(
      `Token expired: current date/time ${Math.floor(T0 / 1000)} must be before the expiration date/time${exp}`,
    );
    expect(sts.issued).toHaveLength(0);
  });

  it("answers InvalidIdentityToken for a token that is not a JWT", async () => {
    const error = await rejection(webIdentity({ token: "not.a-jwt" }));
    // A modeled error: the SDK names it after its shape and keeps the wire code in Code.
    expect(error.name).toBe("InvalidIdentityTokenException");
    expect(error.Code).toBe("InvalidIdentityToken");
    expect(error.$metadata?.httpStatusCode).toBe(400);
  });

  it("rejects issuers not registered when oidcProviders is set", async () => {
    await start({ oidcProviders: ["https://oidc.example.test/cluster"] });
    const error = await rejection(webIdentity());
    expect(error.Code).toBe("InvalidIdentityToken");
    expect(error.message).toContain("No OpenIDConnect provider found in your account for https://oidc.eks");
    const ok = await webIdentity({
      token: mintWebIdentityToken({ now: () => clock, iss: "https://oidc.example.test/cluster" }),
    });
    expect(ok.Provider).toBe("oidc.example.test/cluster");
  });

  it("applies per-role web identity trust: subject and audience", async () => {
    await start({
      roles: {
        [ROLE]: {
          trustedSubjects: ["system:serviceaccount:prod:*"],
          trustedAudiences: ["sts.amazonaws.com"],
        },
      },
    });
    const denied = await rejection(webIdentity());
    expect(denied.name).toBe("AccessDenied");
    expect(denied.message).toBe("Not authorized to perform sts:AssumeRoleWithWebIdentity");
    expect(denied.$metadata?.httpStatusCode).toBe(403);
    const wrongAud = await rejection(
      webIdentity({
        token: mintWebIdentityToken({
          now: () => clock,
          sub: "system:serviceaccount:prod:api",
          aud: "other",
        }),
      }),
    );
    expect(wrongAud.name).toBe("AccessDenied");
    const ok = await webIdentity({
      token: mintWebIdentityToken({ now: () => clock, sub: "system:serviceaccount:prod:api" }),
    });
    expect(ok.SubjectFromWebIdentityToken).toBe("system:serviceaccount:prod:api");
  });

  it("reproduces the self-assume trust gotcha with trustsSelf: false", async () => {
    await start({ roles: { [ROLE]: { trustsSelf: false } } });
    const creds = fromResult((await webIdentity()).Credentials);
    const error = await rejection(
      client(creds).send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "self" })),
    );
    expect(error.name).toBe("AccessDenied");
    expect(error.message).toBe(
      `User: arn:aws:sts::111122223333:assumed-role/app-role/pod-session is not authorized to perform: sts:AssumeRole on resource: ${ROLE}`,
    );
    // Other principals are unaffected.
    const user = client({ accessKeyId: USER_KEY, secretAccessKey: USER_SECRET });
    await expect(
      user.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "uu" })),
    ).resolves.toBeDefined();

    await start({ roles: { [ROLE]: { trustsSelf: true, trustedPrincipals: [] } } });
    const creds2 = fromResult((await webIdentity()).Credentials);
    const self = await client(creds2).send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "self" }));
    expect(self.AssumedRoleUser?.Arn).toBe("arn:aws:sts::111122223333:assumed-role/app-role/self");
  });

  it("checks trustedPrincipals by role, session, user ARN or account", async () => {
    await start({ roles: { [TARGET]: { trustedPrincipals: [ROLE] } } });
    const creds = fromResult((await webIdentity()).Credentials);
    await expect(
      client(creds).send(new AssumeRoleCommand({ RoleArn: TARGET, RoleSessionName: "ok" })),
    ).resolves.toBeDefined();
    const user = client({ accessKeyId: USER_KEY, secretAccessKey: USER_SECRET });
    const error = await rejection(
      user.send(new AssumeRoleCommand({ RoleArn: TARGET, RoleSessionName: "no" })),
    );
    expect(error.name).toBe("AccessDenied");

    await start({ roles: { [TARGET]: { trustedPrincipals: ["111122223333"] } } });
    const user2 = client({ accessKeyId: USER_KEY, secretAccessKey: USER_SECRET });
    await expect(
      user2.send(new AssumeRoleCommand({ RoleArn: TARGET, RoleSessionName: "acct" })),
    ).resolves.toBeDefined();
  });

  it("enforces a role's MaxSessionDuration", async () => {
    await start({ roles: { [ROLE]: { maxSessionDurationSeconds: 3600 } } });
    const user = client({ accessKeyId: USER_KEY, secretAccessKey: USER_SECRET });
    const error = await rejection(
      user.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "ss", DurationSeconds: 7200 })),
    );
    expect(error.message).toBe(
      "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    );
  });

  it("issues short-lived credentials on demand: setLifetimeSeconds and maxLifetimeSeconds", async () => {
    sts.setLifetimeSeconds(120);
    const short = await webIdentity();
    expect(short.Credentials?.Expiration?.getTime()).toBe(T0 + 120_000);
    sts.setLifetimeSeconds(undefined);
    expect((await webIdentity()).Credentials?.Expiration?.getTime()).toBe(T0 + 3600_000);

    await start({ maxLifetimeSeconds: 1000 });
    const user = client({ accessKeyId: USER_KEY, secretAccessKey: USER_SECRET });
    const capped = await user.send(
      new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "cc", DurationSeconds: 7200 }),
    );
    expect(capped.Credentials?.Expiration?.getTime()).toBe(T0 + 1000_000);
  });

  it("issueFor mints sessions that signed requests resolve to", async () => {
    const issued = sts.issueFor(ROLE, "agent-session", 600);
    expect(issued.expiration.getTime()).toBe(T0 + 600_000);
    const who = await client(issued).send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe("arn:aws:sts::111122223333:assumed-role/app-role/agent-session");
    expect(() => sts.issueFor("not-an-arn", "s")).toThrow(TypeError);
  });
});

describe("STS emulator faults, through the SDK's retries", () => {
  it("Throttling is retried by the SDK: two calls logged, the first one faulted", async () => {
    sts.fail({ code: "Throttling" });
    const user = client({ accessKeyId: USER_KEY, secretAccessKey: USER_SECRET });
    const who = await user.send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe(USER_ARN);
    expect(sts.calls.map((c) => [c.status, c.code, c.fault])).toEqual([
      [400, "Throttling", "error"],
      [200, undefined, undefined],
    ]);
    expect(sts.calls[0]?.accessKeyId).toBe(USER_KEY);
  });

  it("InternalFailure 500 and ServiceUnavailable 503 are retried too", async () => {
    sts.fail({ code: "InternalFailure" });
    sts.fail({ code: "ServiceUnavailable" });
    const out = await webIdentity();
    expect(out.Credentials).toBeDefined();
    expect(sts.calls.map((c) => c.status)).toEqual([500, 503, 200]);
  });

  it("AccessDenied surfaces at once as an error named AccessDenied", async () => {
    sts.fail({ code: "AccessDenied", message: "nope" });
    const error = await rejection(webIdentity());
    expect(error.name).toBe("AccessDenied");
    expect(error.message).toBe("nope");
    expect(error.$metadata?.httpStatusCode).toBe(403);
    expect(sts.calls).toHaveLength(1);
  });

  it("faults scoped to an action wait for it; failAlways persists until clearFaults", async () => {
    sts.fail({ code: "IDPRejectedClaim", action: "AssumeRoleWithWebIdentity" });
    const user = client({ accessKeyId: USER_KEY, secretAccessKey: USER_SECRET });
    await user.send(new GetCallerIdentityCommand({}));
    const error = await rejection(webIdentity());
    expect(error.name).toBe("IDPRejectedClaimException");
    expect(error.Code).toBe("IDPRejectedClaim");

    sts.failAlways({ code: "AccessDenied" });
    for (let i = 0; i < 3; i++)
      expect((await rejection(user.send(new GetCallerIdentityCommand({})))).name).toBe("AccessDenied");
    sts.clearFaults();
    await expect(user.send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({ Arn: USER_ARN });
  });

  it("malformed XML surfaces as a deserialization error", async () => {
    sts.injectRaw({
      status: 200,
      body: "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Cred",
    });
    const error = await rejection(webIdentity());
    expect(error.message).toContain("XML parse error");
    expect(sts.calls[0]).toMatchObject({ fault: "raw", status: 200 });
    sts.injectRaw({ status: 400, body: "not xml at all" });
    expect((await rejection(webIdentity())).message).toContain("XML parse error");
  });

  it("a connection cut mid-body surfaces as an error", async () => {
    const body = "<GetCallerIdentityResponse xmlns='https://sts.amazonaws.com/doc/2011-06-15/'>";
    sts.injectRaw({ status: 200, body, contentLength: body.length * 3, times: 3 });
    const user = client({ accessKeyId: USER_KEY, secretAccessKey: USER_SECRET }, { maxAttempts: 1 });
    await expect(user.send(new GetCallerIdentityCommand({}))).rejects.toThrow();
  });

  it("a 200 with an error document or an empty body resolves WITHOUT credentials: callers must check", async () => {
    // What the SDK does here is why a provider must verify Credentials is present.
    sts.injectRaw({
      status: 200,
      body: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>x</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
    });
    const errorBody = await webIdentity();
    expect(errorBody.Credentials).toBeUndefined();
    expect(errorBody.$metadata.httpStatusCode).toBe(200);
    sts.injectRaw({ status: 200, body: "" });
    expect((await webIdentity()).Credentials).toBeUndefined();
    expect(sts.issued).toHaveLength(0);
  });

  it("a hang trips the client's request timeout; the call is logged unanswered", async () => {
    sts.hang();
    // This SDK's handler only warns when requestTimeout passes, unless told to throw.
    const c = client(undefined, {
      maxAttempts: 1,
      requestHandler: { requestTimeout: 200, throwOnRequestTimeout: true },
    });
    const started = Date.now();
    const error = await rejection(
      c.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: ROLE,
          RoleSessionName: "ss",
          WebIdentityToken: mintWebIdentityToken(),
        }),
      ),
    );
    expect(error.name).toBe("TimeoutError");
    expect(Date.now() - started).toBeLessThan(5000);
    expect(sts.calls[0]).toMatchObject({ fault: "hang", status: 0 });
  });

  it("a trickle outlasts the client's idle requestTimeout; only an overall deadline ends it", async () => {
    sts.trickle({ intervalMs: 50 });
    const c = client(undefined, {
      maxAttempts: 1,
      requestHandler: { requestTimeout: 1_000, throwOnRequestTimeout: true },
    });
    const started = Date.now();
    const command = new AssumeRoleWithWebIdentityCommand({
      RoleArn: ROLE,
      RoleSessionName: "ss",
      WebIdentityToken: mintWebIdentityToken(),
    });
    const error = await rejection(c.send(command, { abortSignal: AbortSignal.timeout(2_500) }));
    // Two and a half idle timeouts went by without one tripping: the deadline ended it.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_400);
    expect(error.name).not.toBe("TimeoutError");
    expect(sts.calls[0]).toMatchObject({ fault: "trickle", status: 200 });
    expect(sts.issued).toHaveLength(0);
  });

  it("a hang with ms answers normally after the delay", async () => {
    sts.hang({ ms: 150 });
    const started = Date.now();
    const out = await webIdentity();
    expect(out.Credentials).toBeDefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(sts.calls[0]).toMatchObject({ fault: "hang", status: 200 });
  });

  it("reset clears the logs and faults but keeps issued sessions valid", async () => {
    const creds = fromResult((await webIdentity()).Credentials);
    sts.fail({ code: "Throttling", times: Number.POSITIVE_INFINITY });
    sts.reset();
    expect(sts.calls).toHaveLength(0);
    expect(sts.issued).toHaveLength(0);
    await expect(client(creds).send(new GetCallerIdentityCommand({}))).resolves.toBeDefined();
  });

  it("rejects invalid fault counts", () => {
    expect(() => sts.fail({ code: "Throttling", times: 0 })).toThrow(RangeError);
  });
});

describe("STS emulator with verifySignatures", () => {
  it("accepts the real SDK's signatures and refuses a wrong secret with SignatureDoesNotMatch", async () => {
    await start({ verifySignatures: true });
    const creds = fromResult((await webIdentity()).Credentials);
    await expect(client(creds).send(new GetCallerIdentityCommand({}))).resolves.toBeDefined();
    const user = client({ accessKeyId: USER_KEY, secretAccessKey: USER_SECRET });
    await expect(
      user.send(
        new AssumeRoleCommand({
          RoleArn: TARGET,
          RoleSessionName: "with-policy",
          Policy: '{"Version":"2012-10-17"}',
        }),
      ),
    ).resolves.toMatchObject({ PackedPolicySize: expect.any(Number) });

    const error = await rejection(
      client({ ...creds, secretAccessKey: "0".repeat(40) }).send(new GetCallerIdentityCommand({})),
    );
    expect(error.name).toBe("SignatureDoesNotMatch");
    expect(error.$metadata?.httpStatusCode).toBe(403);
  });
});

describe("STS emulator on the wire", () => {
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${sts.url}/`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body,
    });

  it("answers STS XML with the namespace, text/xml and x-amzn-RequestId", async () => {
    const response = await post("Action=GetCallerIdentity&Version=2011-06-15");
    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toBe("text/xml");
    const requestId = response.headers.get("x-amzn-requestid");
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const text = await response.text();
    expect(text).toContain('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">');
    expect(text).toContain("<Type>Sender</Type>");
    expect(text).toContain("<Code>MissingAuthenticationToken</Code>");
    expect(text).toContain(`<RequestId>${requestId}</RequestId>`);
  });

  it("writes Expiration without milliseconds and Receiver for server faults", async () => {
    const token = mintWebIdentityToken({ now: () => clock });
    const ok = await post(
      `Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=${encodeURIComponent(ROLE)}&RoleSessionName=ss&WebIdentityToken=${token}`,
    );
    const xml = await ok.text();
    expect(xml).toMatch(
      /^<AssumeRoleWithWebIdentityResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">/,
    );
    expect(xml).toContain("<Expiration>2030-01-01T13:00:00Z</Expiration>");
    sts.fail({ code: "InternalFailure" });
    const failed = await post("Action=GetCallerIdentity&Version=2011-06-15");
    expect(failed.status).toBe(500);
    expect(await failed.text()).toContain("<Type>Receiver</Type>");
  });

  it("accepts the GET query form", async () => {
    const token = mintWebIdentityToken({ now: () => clock });
    const query = new URLSearchParams({
      Action: "AssumeRoleWithWebIdentity",
      Version: "2011-06-15",
      RoleArn: ROLE,
      RoleSessionName: "via-get",
      WebIdentityToken: token,
    });
    const response = await fetch(`${sts.url}/?${query}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("assumed-role/app-role/via-get");
    expect(sts.calls[0]).toMatchObject({ method: "GET", action: "AssumeRoleWithWebIdentity" });
  });

  it("reads the signer from a presigned query", async () => {
    const query = new URLSearchParams({
      Action: "GetCallerIdentity",
      Version: "2011-06-15",
      "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
      "X-Amz-Credential": `${USER_KEY}/20300101/us-east-1/sts/aws4_request`,
      "X-Amz-Date": "20300101T120000Z",
      "X-Amz-SignedHeaders": "host",
      "X-Amz-Signature": "00",
    });
    const response = await fetch(`${sts.url}/?${query}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain(`<Arn>${USER_ARN}</Arn>`);
  });

  it.each([
    ["no Action", "Version=2011-06-15", 400, "MissingAction"],
    ["an unknown Action", "Action=GetSessionToken&Version=2011-06-15", 400, "InvalidAction"],
    ["a wrong Version", "Action=GetCallerIdentity&Version=2010-01-01", 400, "InvalidAction"],
    ["garbage", "%%%&&==\u0000", 400, "MissingAction"],
  ])("answers a body with %s with an XML error", async (_what, body, status, code) => {
    const response = await post(body);
    expect(response.status).toBe(status);
    expect(await response.text()).toContain(`<Code>${code}</Code>`);
  });

  it("rejects malformed Authorization headers and wrong scopes", async () => {
    const body = "Action=GetCallerIdentity&Version=2011-06-15";
    const bearer = await post(body, { authorization: "Bearer abc" });
    expect([bearer.status, await bearer.text()]).toEqual([
      400,
      expect.stringContaining("IncompleteSignature"),
    ]);
    const noSig = await post(body, {
      authorization: `AWS4-HMAC-SHA256 Credential=${USER_KEY}/20300101/us-east-1/sts/aws4_request`,
    });
    expect(await noSig.text()).toContain(
      "Authorization header requires &apos;SignedHeaders&apos; parameter.",
    );
    const wrongService = await post(body, {
      authorization: `AWS4-HMAC-SHA256 Credential=${USER_KEY}/20300101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00`,
    });
    expect([wrongService.status, await wrongService.text()]).toEqual([
      403,
      expect.stringContaining("SignatureDoesNotMatch"),
    ]);
    expect(sts.calls[2]?.accessKeyId).toBeUndefined();
  });

  it("refuses other content types, methods, paths and oversized bodies without crashing", async () => {
    const json = await fetch(`${sts.url}/`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(json.status).toBe(400);
    expect((await fetch(`${sts.url}/`, { method: "PUT", body: "x" })).status).toBe(405);
    expect((await fetch(`${sts.url}/other`)).status).toBe(404);
    await start({ maxBodyBytes: 64 });
    const big = await post(`Action=GetCallerIdentity&Version=2011-06-15&Pad=${"x".repeat(200)}`);
    expect(big.status).toBe(400);
    const after = await post("Action=GetCallerIdentity&Version=2011-06-15");
    expect(after.status).toBe(403);
  });

  it("refuses a malformed session policy with MalformedPolicyDocument", async () => {
    const user = client({ accessKeyId: USER_KEY, secretAccessKey: USER_SECRET });
    const error = await rejection(
      user.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "pp", Policy: "{not json" })),
    );
    expect(error.name).toBe("MalformedPolicyDocumentException");
  });

  it("echoes SourceIdentity", async () => {
    const user = client({ accessKeyId: USER_KEY, secretAccessKey: USER_SECRET });
    const out = await user.send(
      new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "pp", SourceIdentity: "alice" }),
    );
    expect(out.SourceIdentity).toBe("alice");
  });
});
