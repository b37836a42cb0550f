import { writeFile } from "node:fs/promises";
import { chainRoles, fromAssumeRole, fromWebIdentity, selfAssume } from "@credbridge/core";
import { mintWebIdentityToken, startMotoServer } from "@credbridge/emulators";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";

/**
 * The same paths against moto's STS, an implementation we did not write. moto
 * is installed on these machines (and by .ci/run); its absence fails this file.
 */
describe("providers against moto_server", () => {
  let moto: { url: string; close(): Promise<void> };
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    const started = await startMotoServer();
    if (!started)
      throw new Error(
        "moto_server is not installed: install it (pip install 'moto[server]') to run these tests",
      );
    moto = started;
    tmp = await tempDir();
    await writeFile(tmp.path("token"), mintWebIdentityToken());
  }, 60_000);
  afterAll(async () => {
    await moto?.close();
    await tmp?.cleanup();
  });

  const sts = () => ({ region: "us-east-1", stsEndpoint: moto.url });
  const web = () =>
    fromWebIdentity({
      roleArn: "arn:aws:iam::123456789012:role/app",
      tokenFile: tmp.path("token"),
      ...sts(),
    });

  it("assumes a role with web identity", async () => {
    const creds = await web()();
    expect(creds.accessKeyId).toMatch(/^ASIA/);
    expect(creds.sessionToken).toBeTruthy();
    expect(creds.expiration!.getTime()).toBeGreaterThan(Date.now());
  });

  it("assumes a role with those credentials, and chains", async () => {
    const hop = await fromAssumeRole(web(), { roleArn: "arn:aws:iam::123456789012:role/next", ...sts() })();
    expect(hop.accessKeyId).toMatch(/^ASIA/);
    const chained = await chainRoles(web(), [
      { roleArn: "arn:aws:iam::123456789012:role/one", ...sts() },
      { roleArn: "arn:aws:iam::123456789012:role/two", ...sts() },
    ])();
    expect(chained.accessKeyId).not.toBe(hop.accessKeyId);
  });

  it("self-assumes the role moto reports from GetCallerIdentity", async () => {
    const creds = await selfAssume(web(), { ...sts(), runtime: { env: {} } })();
    expect(creds.accessKeyId).toMatch(/^ASIA/);
  });
});
