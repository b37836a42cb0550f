import { describe, expect, it } from "vitest";
import { SigV4Error } from "./errors.js";
import { parseAuthorizationHeader, parsePresignedQuery } from "./header.js";

const scope = "AKIDEXAMPLE/20300101/eu-west-1/sts/aws4_request";

const errorOf = (fn: () => unknown): SigV4Error => {
  try {
    fn();
  } catch (error) {
    if (error instanceof SigV4Error) return error;
    throw error;
  }
  throw new Error("expected a SigV4Error");
};

describe("parseAuthorizationHeader", () => {
  it("reads key id, scope, signed headers and signature, with or without spaces", () => {
    const expected = {
      accessKeyId: "AKIDEXAMPLE",
      date: "20300101",
      region: "eu-west-1",
      service: "sts",
      signedHeaders: ["host", "x-amz-date"],
      signature: "abc123",
      location: "header",
    };
    expect(
      parseAuthorizationHeader(
        `AWS4-HMAC-SHA256 Credential=${scope}, SignedHeaders=host;x-amz-date, Signature=abc123`,
        "sts",
      ),
    ).toEqual(expected);
    expect(
      parseAuthorizationHeader(
        `AWS4-HMAC-SHA256 Credential=${scope},SignedHeaders=host;x-amz-date,Signature=abc123`,
        "sts",
      ),
    ).toEqual(expected);
  });

  it("answers IncompleteSignature for other schemes and missing parts", () => {
    expect(errorOf(() => parseAuthorizationHeader("Bearer token", "sts")).code).toBe("IncompleteSignature");
    const missing = errorOf(() => parseAuthorizationHeader(`AWS4-HMAC-SHA256 Credential=${scope}`, "sts"));
    expect(missing.code).toBe("IncompleteSignature");
    expect(missing.message).toBe(
      "Authorization header requires 'SignedHeaders' parameter. Authorization header requires 'Signature' parameter.",
    );
    const short = errorOf(() =>
      parseAuthorizationHeader(
        "AWS4-HMAC-SHA256 Credential=AKID/20300101/sts, SignedHeaders=host, Signature=00",
        "sts",
      ),
    );
    expect(short.message).toContain("Credential must have exactly 5 slash-delimited elements");
  });

  it("answers SignatureDoesNotMatch for a scope naming another service or terminator", () => {
    const s3 = errorOf(() =>
      parseAuthorizationHeader(
        "AWS4-HMAC-SHA256 Credential=AKID/20300101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
        "sts",
      ),
    );
    expect(s3.code).toBe("SignatureDoesNotMatch");
    expect(s3.message).toContain("'sts'");
    const term = errorOf(() =>
      parseAuthorizationHeader(
        "AWS4-HMAC-SHA256 Credential=AKID/20300101/us-east-1/sts/aws4_other, SignedHeaders=host, Signature=00",
        "sts",
      ),
    );
    expect(term.message).toContain("valid terminator");
  });
});

describe("parsePresignedQuery", () => {
  it("is undefined for an unsigned query and reads a presigned one", () => {
    expect(parsePresignedQuery(new URLSearchParams("Action=GetCallerIdentity"), "sts")).toBeUndefined();
    const q = new URLSearchParams({
      "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
      "X-Amz-Credential": scope,
      "X-Amz-SignedHeaders": "host",
      "X-Amz-Signature": "ff",
    });
    expect(parsePresignedQuery(q, "sts")).toMatchObject({
      accessKeyId: "AKIDEXAMPLE",
      location: "query",
      signature: "ff",
    });
    q.delete("X-Amz-Signature");
    expect(errorOf(() => parsePresignedQuery(q, "sts")).code).toBe("IncompleteSignature");
  });
});
