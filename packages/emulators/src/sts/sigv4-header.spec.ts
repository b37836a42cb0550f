import { describe, expect, it } from "vitest";
import { StsError } from "./errors.js";
import { parseAuthorizationHeader, parsePresignedQuery } from "./sigv4-header.js";

const scope = "AKIDEXAMPLE/20300101/eu-west-1/sts/aws4_request";

const errorOf = (fn: () => unknown): StsError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof StsError) return error;
    throw error;
  }
  throw new Error("expected an StsError");
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
      ),
    ).toEqual(expected);
    expect(
      parseAuthorizationHeader(
        `AWS4-HMAC-SHA256 Credential=${scope},SignedHeaders=host;x-amz-date,Signature=abc123`,
      ),
    ).toEqual(expected);
  });

  it("answers IncompleteSignature for other schemes and missing parts", () => {
    expect(errorOf(() => parseAuthorizationHeader("Bearer token")).code).toBe("IncompleteSignature");
    const missing = errorOf(() => parseAuthorizationHeader(`AWS4-HMAC-SHA256 Credential=${scope}`));
    expect([missing.code, missing.status]).toEqual(["IncompleteSignature", 400]);
    expect(missing.message).toBe(
      "Authorization header requires 'SignedHeaders' parameter. Authorization header requires 'Signature' parameter.",
    );
    const short = errorOf(() =>
      parseAuthorizationHeader(
        "AWS4-HMAC-SHA256 Credential=AKID/20300101/sts, SignedHeaders=host, Signature=00",
      ),
    );
    expect(short.message).toContain("Credential must have exactly 5 slash-delimited elements");
  });

  it("answers SignatureDoesNotMatch for a scope naming another service or terminator", () => {
    const s3 = errorOf(() =>
      parseAuthorizationHeader(
        "AWS4-HMAC-SHA256 Credential=AKID/20300101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
      ),
    );
    expect([s3.code, s3.status]).toEqual(["SignatureDoesNotMatch", 403]);
    const term = errorOf(() =>
      parseAuthorizationHeader(
        "AWS4-HMAC-SHA256 Credential=AKID/20300101/us-east-1/sts/aws4_other, SignedHeaders=host, Signature=00",
      ),
    );
    expect(term.message).toContain("valid terminator");
  });
});

describe("parsePresignedQuery", () => {
  it("is undefined for an unsigned query and reads a presigned one", () => {
    expect(parsePresignedQuery(new URLSearchParams("Action=GetCallerIdentity"))).toBeUndefined();
    const q = new URLSearchParams({
      "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
      "X-Amz-Credential": scope,
      "X-Amz-SignedHeaders": "host",
      "X-Amz-Signature": "ff",
    });
    expect(parsePresignedQuery(q)).toMatchObject({
      accessKeyId: "AKIDEXAMPLE",
      location: "query",
      signature: "ff",
    });
    q.delete("X-Amz-Signature");
    expect(errorOf(() => parsePresignedQuery(q)).code).toBe("IncompleteSignature");
  });
});
