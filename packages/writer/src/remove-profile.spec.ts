import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { removeProfile, removeProfiles } from "./remove-profile.js";
import { writeConfig } from "./write-config.js";
import { writeCredentials } from "./write-credentials.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "credbridge-remove-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("removeProfile", () => {
  it("removes the profile's section and keeps the others", async () => {
    const path = join(dir, "credentials");
    await writeFile(path, "[keep]\naws_access_key_id = AKIAKEEP\n\n");
    await writeCredentials(
      { accessKeyId: "ASIAGONE", secretAccessKey: "s", sessionToken: "t" },
      { path, profile: "app" },
    );
    const result = await removeProfile("app", { path });
    expect(result).toEqual({ path, profile: "app", changed: true });
    expect(await readFile(path, "utf8")).toBe("[keep]\naws_access_key_id = AKIAKEEP\n");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(["credentials"]);
  });

  it("does nothing, and creates nothing, when the file or the profile is missing", async () => {
    const missing = join(dir, "nowhere", "credentials");
    expect(await removeProfile("app", { path: missing })).toMatchObject({ changed: false });
    expect(await readdir(dir)).toEqual([]);
    const path = join(dir, "credentials");
    await writeFile(path, "[keep]\nk = v\n");
    expect(await removeProfile("app", { path })).toMatchObject({ changed: false });
    expect(await readFile(path, "utf8")).toBe("[keep]\nk = v\n");
  });

  it("removes [profile NAME] from the config file", async () => {
    const path = join(dir, "config");
    await writeConfig({ region: "eu-west-1" }, { path });
    await writeConfig({ region: "us-east-1" }, { path, profile: "app" });
    await removeProfile("app", { path, file: "config" });
    expect(await readFile(path, "utf8")).toBe("[default]\nregion = eu-west-1\n");
  });
});

describe("removeProfiles", () => {
  it("removes several sections in one write; with expiredBy, only those whose credentials had expired", async () => {
    const path = join(dir, "credentials");
    await writeFile(path, "[keep]\naws_access_key_id = AKIAKEEP\n");
    const at = (ms: number) => ({
      accessKeyId: "ASIAX",
      secretAccessKey: "s",
      sessionToken: "t",
      expiration: new Date(ms),
    });
    const now = Date.now();
    await writeCredentials(at(now + 1_000), { path, profile: "old" });
    await writeCredentials(at(now + 3_600_000), { path, profile: "renewed" });
    const results = await removeProfiles(["old", "renewed"], { path, expiredBy: now + 60_000 });
    expect(results.map((r) => r.changed)).toEqual([true, true]);
    const text = await readFile(path, "utf8");
    expect(text).not.toMatch(/\[old\]/);
    expect(text).toMatch(/\[renewed\]/);
    expect(text).toMatch(/\[keep\]/);
    await removeProfiles(["renewed", "keep"], { path });
    expect(await readFile(path, "utf8")).toBe("");
  });
});
