import { describe, expect, it } from "vitest";
import { authenticateS3Request, payloadSigning, type S3Session } from "./authenticate.js";
import { S3Error } from "./errors.js";
import { received, signS3 } from "./sign.spec.helper.js";

const NOW = Date.parse("2030-01-01T00:00:00Z");
const session = {
  accessKeyId: "ASIAEXAMPLEEXAMPLE01",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  sessionToken: "IQoJb3JpZ2luX2VjEXAMPLETOKEN",
};
const live: S3Session = { ...session, expiration: new Date(NOW + 60_000) };
const lookup = (key: string) => (key === session.accessKeyId ? live : undefined);
const host = "127.0.0.1:9000";
const path = "/bucket/docker/registry/v2/blobs/sha256/ab/abc/data";

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof S3Error) return `${error.status} ${error.code}`;
    throw error;
  }
  return "accepted";
};

describe("authenticateS3Request", () => {
  it("accepts a live session's request whose body matches its signed hash, and names the signer", async () => {
    const signed = await signS3(session, { method: "PUT", host, path, body: Buffer.from("layer bytes") });
    expect(authenticateS3Request(received("PUT", path, signed), lookup, NOW)).toBe(session.accessKeyId);
  });

  it("accepts UNSIGNED-PAYLOAD and a query the signer canonicalised", async () => {
    const signed = await signS3(session, {
      method: "GET",
      host,
      path: "/bucket",
      query: { "list-type": "2", prefix: "docker/registry/v2/" },
      contentSha256: "UNSIGNED-PAYLOAD",
    });
    const request = received("GET", "/bucket", signed, "prefix=docker%2Fregistry%2Fv2%2F&list-type=2");
    expect(authenticateS3Request(request, lookup, NOW)).toBe(session.accessKeyId);
  });

  it("answers ExpiredToken (400) from the session's expiration on: the code aws-sdk-go v1 expires its credentials on", async () => {
    const signed = await signS3(session, { method: "GET", host, path });
    const request = received("GET", path, signed);
    expect(codeOf(() => authenticateS3Request(request, lookup, live.expiration.getTime() - 1))).toBe(
      "accepted",
    );
    expect(codeOf(() => authenticateS3Request(request, lookup, live.expiration.getTime()))).toBe(
      "400 ExpiredToken",
    );
  });

  it("answers InvalidAccessKeyId (403) for a key never issued or a session key without its token", async () => {
    const stranger = await signS3(
      { ...session, accessKeyId: "ASIANEVERISSUED00000" },
      { method: "GET", host, path },
    );
    expect(codeOf(() => authenticateS3Request(received("GET", path, stranger), lookup, NOW))).toBe(
      "403 InvalidAccessKeyId",
    );
    const { sessionToken: _, ...noToken } = session;
    const tokenless = await signS3({ ...noToken, sessionToken: "" }, { method: "GET", host, path });
    delete tokenless.headers["x-amz-security-token"];
    expect(codeOf(() => authenticateS3Request(received("GET", path, tokenless), lookup, NOW))).toBe(
      "403 InvalidAccessKeyId",
    );
  });

  it("answers InvalidToken (400) for another session's token", async () => {
    const signed = await signS3({ ...session, sessionToken: "someone-elses" }, { method: "GET", host, path });
    expect(codeOf(() => authenticateS3Request(received("GET", path, signed), lookup, NOW))).toBe(
      "400 InvalidToken",
    );
  });

  it("answers SignatureDoesNotMatch (403) for a wrong secret or a request changed after signing", async () => {
    const wrong = await signS3(
      { ...session, secretAccessKey: "not-the-secret" },
      { method: "GET", host, path },
    );
    expect(codeOf(() => authenticateS3Request(received("GET", path, wrong), lookup, NOW))).toBe(
      "403 SignatureDoesNotMatch",
    );
    const signed = await signS3(session, { method: "GET", host, path });
    expect(codeOf(() => authenticateS3Request(received("GET", `${path}x`, signed), lookup, NOW))).toBe(
      "403 SignatureDoesNotMatch",
    );
  });

  it("answers XAmzContentSHA256Mismatch for a body that is not the one hashed, NotImplemented for aws-chunked", async () => {
    const signed = await signS3(session, { method: "PUT", host, path, body: Buffer.from("original") });
    const swapped = { ...received("PUT", path, signed), body: Buffer.from("tampered") };
    expect(codeOf(() => authenticateS3Request(swapped, lookup, NOW))).toBe("400 XAmzContentSHA256Mismatch");
    const streaming = await signS3(session, {
      method: "PUT",
      host,
      path,
      body: Buffer.from("5;chunk-signature=00\r\nhello\r\n"),
      contentSha256: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    });
    expect(codeOf(() => authenticateS3Request(received("PUT", path, streaming), lookup, NOW))).toBe(
      "501 NotImplemented",
    );
  });

  it("answers AccessDenied for an anonymous request and AuthorizationHeaderMalformed for a broken one", () => {
    const anonymous = { method: "GET", path, rawQuery: "", headers: { host }, body: Buffer.alloc(0) };
    expect(codeOf(() => authenticateS3Request(anonymous, lookup, NOW))).toBe("403 AccessDenied");
    const broken = { ...anonymous, headers: { host, authorization: "AWS4-HMAC-SHA256 Credential=x" } };
    expect(codeOf(() => authenticateS3Request(broken, lookup, NOW))).toBe("400 AuthorizationHeaderMalformed");
    const sts = {
      ...anonymous,
      headers: {
        host,
        authorization: `AWS4-HMAC-SHA256 Credential=${session.accessKeyId}/20300101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00`,
      },
    };
    expect(codeOf(() => authenticateS3Request(sts, lookup, NOW))).toBe("403 SignatureDoesNotMatch");
  });

  it("tells how the payload was signed", () => {
    const of = (headers: Record<string, string>, rawQuery = "") => payloadSigning({ headers, rawQuery });
    expect(
      of({ "x-amz-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" }),
    ).toBe("sha256");
    expect(of({ "x-amz-content-sha256": "UNSIGNED-PAYLOAD" })).toBe("unsigned");
    expect(of({ "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" })).toBe("streaming");
    expect(of({}, "X-Amz-Signature=00")).toBe("presigned");
    expect(of({})).toBe("none");
  });
});
