import { describe, expect, it } from "vitest";
import { ERROR_CLASSES, errorClass } from "./error-class.js";
import { CredbridgeError } from "./errors.js";
import { toStsError } from "./internal/sts-error.js";

/** What the AWS SDK v3 throws for an STS error answer. */
const sdkError = (name: string, status: number) =>
  Object.assign(new Error(`${name} message`), {
    name,
    $fault: "client",
    $metadata: { httpStatusCode: status },
  });

const sts = (error: unknown) => toStsError(error, "AssumeRoleWithWebIdentity", "arn:aws:iam::1:role/r");

describe("errorClass", () => {
  it.each([
    ["STS Throttling", sts(sdkError("Throttling", 400)), "Throttling"],
    ["STS AccessDenied", sts(sdkError("AccessDenied", 403)), "AccessDenied"],
    [
      "STS InvalidIdentityToken (the SDK's shape name)",
      sts(sdkError("InvalidIdentityTokenException", 400)),
      "InvalidIdentityToken",
    ],
    [
      "STS IDPCommunicationError",
      sts(sdkError("IDPCommunicationErrorException", 400)),
      "IDPCommunicationError",
    ],
    ["STS ExpiredTokenException", sts(sdkError("ExpiredTokenException", 400)), "ExpiredTokenException"],
    ["another service's throttling code", sts(sdkError("TooManyRequestsException", 429)), "Throttling"],
    ["an STS code without a class of its own", sts(sdkError("InternalFailure", 500)), "ERR_STS"],
    [
      "STS unreachable",
      sts(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" })),
      "network",
    ],
    ["STS request timeout", sts(Object.assign(new Error("timed out"), { name: "TimeoutError" })), "timeout"],
    [
      "the engine's attempt deadline",
      new CredbridgeError("did not return", { code: "ERR_TIMEOUT" }),
      "timeout",
    ],
    [
      "the Pod Identity agent throttling",
      new CredbridgeError("429", { code: "ERR_HTTP", statusCode: 429 }),
      "Throttling",
    ],
    [
      "the Pod Identity agent refusing",
      new CredbridgeError("403", { code: "ERR_HTTP", statusCode: 403 }),
      "ERR_HTTP",
    ],
    ["an unreadable token file", new CredbridgeError("empty", { code: "ERR_TOKEN_FILE" }), "ERR_TOKEN_FILE"],
    ["an expired answer", new CredbridgeError("expired", { code: "ERR_EXPIRED" }), "ERR_EXPIRED"],
    ["anything else thrown", new TypeError("x is undefined"), "other"],
    ["not an error at all", "a string", "other"],
  ])("%s → %s", (_what, error, expected) => {
    expect(errorClass(error)).toBe(expected);
    expect(ERROR_CLASSES).toContain(expected);
  });

  it("never reads the message: text that names a code does not make the class", () => {
    const error = new CredbridgeError("Throttling AccessDenied timeout", { code: "ERR_CONFIG" });
    expect(errorClass(error)).toBe("ERR_CONFIG");
    // A service code outside the known set falls back to the credbridge code, never the raw value.
    const odd = new CredbridgeError("x", { code: "ERR_STS", serviceCode: 'evil"label', statusCode: 400 });
    expect(errorClass(odd)).toBe("ERR_STS");
  });

  it("has one class per value, each a valid Prometheus label value without escaping", () => {
    expect(new Set(ERROR_CLASSES).size).toBe(ERROR_CLASSES.length);
    for (const c of ERROR_CLASSES) expect(c).toMatch(/^[A-Za-z_]+$/);
  });
});
