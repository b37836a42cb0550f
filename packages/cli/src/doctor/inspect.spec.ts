import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { inspectEnvironment, inspectTokenFile } from "./inspect.js";

const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const NOW = Date.parse("2030-01-01T00:00:00Z");

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "credbridge-doctor-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("inspectTokenFile", () => {
  it("shows the claims doctor reports, and the time left", async () => {
    const path = join(dir, "token");
    const claims = {
      iss: "https://issuer",
      sub: "system:serviceaccount:ns:sa",
      aud: ["sts"],
      exp: NOW / 1000 + 60,
    };
    await writeFile(path, `${segment({ alg: "RS256" })}.${segment({ ...claims, extra: 1 })}.sig\n`);
    expect(await inspectTokenFile(path, "AWS_WEB_IDENTITY_TOKEN_FILE", NOW, true)).toMatchObject({
      exists: true,
      claims,
      expiresInSeconds: 60,
    });
  });

  it("says why a token file is not a JWT, by the same rule as the STS emulator", async () => {
    const path = join(dir, "token");
    await writeFile(path, `${segment({ alg: "RS256" })}.${segment({ exp: "soon" })}.sig`);
    const report = await inspectTokenFile(path, "AWS_WEB_IDENTITY_TOKEN_FILE", NOW, true);
    expect(report.claims).toBeUndefined();
    expect(report.error).toBe("the file is not a JWT: JWT claim exp must be a number");
  });

  it("answers at once for a FIFO nobody writes, without opening it for a read that would never end", async () => {
    const path = join(dir, "fifo");
    execFileSync("mkfifo", [path]);
    expect(await inspectTokenFile(path, "AWS_WEB_IDENTITY_TOKEN_FILE", NOW, true)).toMatchObject({
      exists: true,
      error: "not a regular file (a FIFO or a device?)",
    });
  });
});

describe("inspectEnvironment", () => {
  it("shows role hops without their external ids", () => {
    const shown = inspectEnvironment({
      CREDBRIDGE_PROFILE_ASSUME_ROLE:
        "reader=arn:aws:iam::222233334444:role/reader writer=arn:aws:iam::444455556666:role/writer,external-id=SECRET-EXT-42,duration=1800",
      CREDBRIDGE_ASSUME_ROLE: "arn:aws:iam::444455556666:role/b,external-id=OTHER-EXT",
      CREDBRIDGE_EXTERNAL_ID: "THIRD-EXT",
    });
    expect(JSON.stringify(shown)).not.toMatch(/SECRET-EXT-42|OTHER-EXT|THIRD-EXT/);
    expect(shown.CREDBRIDGE_PROFILE_ASSUME_ROLE).toBe(
      "reader=arn:aws:iam::222233334444:role/reader writer=arn:aws:iam::444455556666:role/writer,external-id=(not shown),duration=1800",
    );
    expect(shown.CREDBRIDGE_EXTERNAL_ID).toBe("(set, not shown)");
  });

  it("shows credbridge's own variables, and names any other CREDBRIDGE_* without its value", () => {
    const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const shown = inspectEnvironment({
      CREDBRIDGE_METRICS: "0.0.0.0:9090",
      CREDBRIDGE_SECRET_ACCESS_KEY: secret,
      CREDBRIDGE_TOKEN: secret,
      CREDBRIDGE_IMAGE_OUT: secret,
      AWS_SECRET_ACCESS_KEY: secret,
    });
    expect(JSON.stringify(shown)).not.toContain(secret);
    expect(shown).toMatchObject({
      CREDBRIDGE_METRICS: "0.0.0.0:9090",
      CREDBRIDGE_SECRET_ACCESS_KEY: "(set, not a credbridge variable: not shown)",
      CREDBRIDGE_TOKEN: "(set, not a credbridge variable: not shown)",
      AWS_SECRET_ACCESS_KEY: "(set, redacted)",
    });
  });
});
