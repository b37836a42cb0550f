import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { SigV4Auth } from "./header.js";
import { verifySigV4 } from "./verify.js";

// The "get-vanilla" case of the AWS Signature Version 4 test suite.
const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const auth: SigV4Auth = {
  accessKeyId: "AKIDEXAMPLE",
  date: "20150830",
  region: "us-east-1",
  service: "service",
  signedHeaders: ["host", "x-amz-date"],
  signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
  location: "header",
};
const request = {
  method: "GET",
  path: "/",
  rawQuery: "",
  headers: { host: "example.amazonaws.com", "x-amz-date": "20150830T123600Z" },
  body: Buffer.alloc(0),
};

describe("verifySigV4", () => {
  it("accepts the AWS test suite's get-vanilla signature", () => {
    expect(verifySigV4(request, auth, SECRET)).toBe(true);
  });

  it("refuses a wrong secret, a changed header, method or body", () => {
    expect(verifySigV4(request, auth, `${SECRET}x`)).toBe(false);
    expect(
      verifySigV4({ ...request, headers: { ...request.headers, host: "evil.test" } }, auth, SECRET),
    ).toBe(false);
    expect(verifySigV4({ ...request, method: "POST" }, auth, SECRET)).toBe(false);
    expect(verifySigV4({ ...request, body: Buffer.from("x") }, auth, SECRET)).toBe(false);
  });

  it("uses x-amz-content-sha256 as the payload hash when present", () => {
    const emptyHash = createHash("sha256").update("").digest("hex");
    const headers = { ...request.headers, "x-amz-content-sha256": emptyHash };
    // Not a signed header here, so it only replaces hashing the (non-empty) body.
    expect(verifySigV4({ ...request, headers, body: Buffer.from("ignored") }, auth, SECRET)).toBe(true);
  });

  it("refuses a request without a date", () => {
    expect(verifySigV4({ ...request, headers: { host: "example.amazonaws.com" } }, auth, SECRET)).toBe(false);
  });
});
