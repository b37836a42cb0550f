import { describe, expect, it } from "vitest";
import { detectAmbientSource, fromAmbient } from "./from-ambient.js";
import { manualRuntime } from "./testing.js";

describe("detectAmbientSource", () => {
  it("picks web identity when both IRSA variables are set", () => {
    expect(
      detectAmbientSource({
        AWS_WEB_IDENTITY_TOKEN_FILE: "/t",
        AWS_ROLE_ARN: "arn",
        AWS_CONTAINER_CREDENTIALS_FULL_URI: "x",
      }),
    ).toMatchObject({ source: "web-identity", variables: ["AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"] });
  });

  it("picks pod identity when a container URI is set, saying why IRSA was skipped", () => {
    const d = detectAmbientSource({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://169.254.170.23/v1/credentials",
      AWS_ROLE_ARN: "a",
    });
    expect(d.source).toBe("pod-identity");
    expect(d.reason).toMatch(
      /AWS_CONTAINER_CREDENTIALS_FULL_URI is set.*AWS_WEB_IDENTITY_TOKEN_FILE is not set/,
    );
    expect(detectAmbientSource({ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/x" }).variables).toEqual([
      "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    ]);
  });

  it("falls back to the default chain and names a half-configured IRSA", () => {
    expect(detectAmbientSource({})).toMatchObject({ source: "default" });
    expect(detectAmbientSource({ AWS_WEB_IDENTITY_TOKEN_FILE: "/t" }).reason).toMatch(
      /AWS_ROLE_ARN is missing/,
    );
  });

  it("counts explicit options as configuration", () => {
    expect(detectAmbientSource({}, { webIdentity: { tokenFile: "/t", roleArn: "arn" } }).source).toBe(
      "web-identity",
    );
    expect(detectAmbientSource({}, { podIdentity: { uri: "http://127.0.0.1/x" } }).source).toBe(
      "pod-identity",
    );
  });
});

describe("fromAmbient", () => {
  it("detects when it runs and reports the picked provider's error", async () => {
    const fake = manualRuntime({
      env: { AWS_WEB_IDENTITY_TOKEN_FILE: "/missing", AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/r" },
    });
    const provider = fromAmbient({ runtime: fake.runtime });
    expect(provider.detect().source).toBe("web-identity");
    await expect(provider()).rejects.toThrow(/\/missing \(AWS_WEB_IDENTITY_TOKEN_FILE\)/);
  });
});
