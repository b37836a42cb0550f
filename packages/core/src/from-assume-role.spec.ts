import {
  AssumeRoleCommand,
  GetCallerIdentityCommand,
  STSClient,
  STSServiceException,
} from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { chainRoles } from "./chain-roles.js";
import { isCredbridgeError } from "./errors.js";
import { fromAssumeRole } from "./from-assume-role.js";
import { roleArnFromAssumedRoleArn, selfAssume } from "./self-assume.js";
import { manualRuntime } from "./testing.js";

const sts = mockClient(STSClient);
afterEach(() => sts.reset());

const base = async () => ({
  accessKeyId: "ASIABASE",
  secretAccessKey: "base-secret",
  sessionToken: "base-token",
});
const answer = (role: string) => ({
  Credentials: {
    AccessKeyId: `ASIA${role.toUpperCase()}`,
    SecretAccessKey: `${role}-secret`,
    SessionToken: `${role}-token`,
    Expiration: new Date("2026-01-01T01:00:00Z"),
  },
  AssumedRoleUser: { Arn: `arn:aws:sts::999988887777:assumed-role/${role}/s`, AssumedRoleId: "AROA:s" },
});

describe("fromAssumeRole", () => {
  it("passes every option to sts:AssumeRole", async () => {
    sts.on(AssumeRoleCommand).resolves(answer("target"));
    const creds = await fromAssumeRole(base, {
      roleArn: "arn:aws:iam::999988887777:role/target",
      roleSessionName: "sess",
      externalId: "ext-123",
      durationSeconds: 1800,
      tags: { team: "platform" },
      transitiveTagKeys: ["team"],
      sourceIdentity: "alice",
      policy: "{}",
      policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
      runtime: manualRuntime().runtime,
    })();
    expect(creds).toMatchObject({
      accessKeyId: "ASIATARGET",
      accountId: "999988887777",
      roleArn: "arn:aws:iam::999988887777:role/target",
    });
    expect(sts.commandCalls(AssumeRoleCommand)[0]!.args[0].input).toEqual({
      RoleArn: "arn:aws:iam::999988887777:role/target",
      RoleSessionName: "sess",
      ExternalId: "ext-123",
      DurationSeconds: 1800,
      Tags: [{ Key: "team", Value: "platform" }],
      TransitiveTagKeys: ["team"],
      SourceIdentity: "alice",
      Policy: "{}",
      PolicyArns: [{ arn: "arn:aws:iam::aws:policy/ReadOnlyAccess" }],
    });
  });

  it("refuses a malformed role ARN when run, not when built", async () => {
    const provider = fromAssumeRole(base, { roleArn: "role/nope", runtime: manualRuntime().runtime });
    await expect(provider()).rejects.toThrow(/"role\/nope" is not a role ARN/);
    expect(sts.calls()).toHaveLength(0);
  });

  it("explains AccessDenied with the role and the trust policy", async () => {
    sts.on(AssumeRoleCommand).rejects(
      new STSServiceException({
        name: "AccessDenied",
        $fault: "client",
        $metadata: { httpStatusCode: 403 },
        message: "no",
      }),
    );
    const error = await fromAssumeRole(base, {
      roleArn: "arn:aws:iam::999988887777:role/x",
      runtime: manualRuntime().runtime,
    })().catch((e: unknown) => e);
    expect(isCredbridgeError(error) && error.serviceCode).toBe("AccessDenied");
    expect((error as Error).message).toMatch(/arn:aws:iam::999988887777:role\/x.*trust policy/);
  });
});

describe("chainRoles", () => {
  it("assumes each hop in order and caps hops at the one-hour chaining limit with a warning", async () => {
    sts
      .on(AssumeRoleCommand, { RoleArn: "arn:aws:iam::111111111111:role/hop1" })
      .resolves(answer("hop1"))
      .on(AssumeRoleCommand, { RoleArn: "arn:aws:iam::222222222222:role/hop2" })
      .resolves(answer("hop2"));
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} };
    const runtime = { ...manualRuntime().runtime, logger };
    const creds = await chainRoles(base, [
      { roleArn: "arn:aws:iam::111111111111:role/hop1", roleSessionName: "one", runtime },
      {
        roleArn: "arn:aws:iam::222222222222:role/hop2",
        roleSessionName: "two",
        durationSeconds: 7200,
        runtime,
      },
    ])();
    expect(creds.accessKeyId).toBe("ASIAHOP2");
    // The mock replaces the client's middleware, so the signer is not resolved on
    // send; resolving the hop-2 client's credentials shows it is hop 1. (The
    // emulator tests prove the real signatures.)
    const hop2Client = sts.commandCalls(AssumeRoleCommand)[0]!.thisValue as STSClient;
    const signer = await hop2Client.config.credentials({});
    expect(signer.accessKeyId).toBe("ASIAHOP1");
    const calls = sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input);
    expect(calls[0]!.RoleArn).toBe("arn:aws:iam::222222222222:role/hop2");
    expect(new Set(calls.slice(1).map((c) => c.RoleArn))).toEqual(
      new Set(["arn:aws:iam::111111111111:role/hop1"]),
    );
    expect(calls[0]!.DurationSeconds).toBe(3600);
    expect(warnings.join()).toMatch(/hop2.*capped to 3600/);
  });
});

describe("selfAssume", () => {
  it("derives the role from the caller identity when no ARN is configured", async () => {
    sts.on(GetCallerIdentityCommand).resolves({
      Arn: "arn:aws:sts::123456789012:assumed-role/app/botocore-session-1",
      Account: "123456789012",
    });
    sts.on(AssumeRoleCommand).resolves(answer("app"));
    const creds = await selfAssume(base, { runtime: manualRuntime().runtime })();
    expect(creds.accessKeyId).toBe("ASIAAPP");
    expect(sts.commandCalls(AssumeRoleCommand)[0]!.args[0].input.RoleArn).toBe(
      "arn:aws:iam::123456789012:role/app",
    );
  });

  it("prefers the roleArn option, then AWS_ROLE_ARN", async () => {
    sts.on(AssumeRoleCommand).resolves(answer("app"));
    const runtime = manualRuntime({
      env: { AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/path/from-env" },
    }).runtime;
    await selfAssume(base, { runtime })();
    await selfAssume(base, { runtime, roleArn: "arn:aws:iam::123456789012:role/explicit" })();
    expect(sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(0);
    expect(sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input.RoleArn)).toEqual([
      "arn:aws:iam::123456789012:role/path/from-env",
      "arn:aws:iam::123456789012:role/explicit",
    ]);
  });

  it("says that roles with a path need the explicit ARN when a derived ARN is refused", async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Arn: "arn:aws:sts::123456789012:assumed-role/app/s" });
    sts.on(AssumeRoleCommand).rejects(
      new STSServiceException({
        name: "AccessDenied",
        $fault: "client",
        $metadata: { httpStatusCode: 403 },
        message: "denied",
      }),
    );
    await expect(selfAssume(base, { runtime: manualRuntime().runtime })()).rejects.toThrow(
      /derived from arn:aws:sts::123456789012:assumed-role\/app\/s.*role with a path.*AWS_ROLE_ARN/,
    );
  });

  it("refuses a source that is not an assumed role", async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Arn: "arn:aws:iam::123456789012:user/alice" });
    await expect(selfAssume(base, { runtime: manualRuntime().runtime })()).rejects.toThrow(
      /is not an assumed role/,
    );
  });

  it("maps assumed-role ARNs to role ARNs across partitions", () => {
    expect(roleArnFromAssumedRoleArn("arn:aws-cn:sts::123456789012:assumed-role/r/s")).toBe(
      "arn:aws-cn:iam::123456789012:role/r",
    );
    expect(roleArnFromAssumedRoleArn("arn:aws:iam::123456789012:user/u")).toBeUndefined();
  });
});
