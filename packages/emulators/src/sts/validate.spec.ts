import { describe, expect, it } from "vitest";
import { StsError } from "./errors.js";
import { validateAssumeInput } from "./validate.js";

describe("validateAssumeInput", () => {
  const roleArn = "arn:aws:iam::123456789012:role/app";
  const error = (params: Record<string, string>): StsError => {
    try {
      validateAssumeInput(params);
    } catch (e) {
      if (e instanceof StsError) return e;
      throw e;
    }
    throw new Error("expected a validation error");
  };

  it("returns the parsed input, DurationSeconds undefined when not asked", () => {
    expect(validateAssumeInput({ RoleArn: roleArn, RoleSessionName: "ok" })).toMatchObject({
      roleArn,
      sessionName: "ok",
      durationSeconds: undefined,
      role: { roleName: "app" },
    });
    expect(
      validateAssumeInput({ RoleArn: roleArn, RoleSessionName: "ok", DurationSeconds: "900" })
        .durationSeconds,
    ).toBe(900);
  });

  it("words missing members as STS does", () => {
    expect(error({}).message).toBe(
      "2 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null; Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null",
    );
  });

  it("refuses a non-numeric DurationSeconds, a long session name and a malformed policy", () => {
    expect(error({ RoleArn: roleArn, RoleSessionName: "ok", DurationSeconds: "1h" }).code).toBe(
      "ValidationError",
    );
    expect(error({ RoleArn: roleArn, RoleSessionName: "x".repeat(65) }).message).toContain(
      "Member must have length less than or equal to 64",
    );
    expect(error({ RoleArn: roleArn, RoleSessionName: "ok", Policy: "[1" }).code).toBe(
      "MalformedPolicyDocument",
    );
    expect(error({ RoleArn: "arn:aws:iam::123456789012:user/someone", RoleSessionName: "ok" }).message).toBe(
      "Request ARN is invalid",
    );
  });
});
