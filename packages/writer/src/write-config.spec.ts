import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isCredbridgeError } from "@credbridge/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeConfig } from "./write-config.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "credbridge-config-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("writeConfig", () => {
  it("writes [default] and [profile NAME] sections, 0600, from AWS_CONFIG_FILE", async () => {
    const path = join(dir, "config");
    const env = { AWS_CONFIG_FILE: path };
    await writeConfig({ region: "eu-west-1" }, { env });
    await writeConfig(
      { role_arn: "arn:aws:iam::111111111111:role/app", source_profile: "default", duration_seconds: 3600 },
      { env, profile: "app.prod" },
    );
    expect(await readFile(path, "utf8")).toBe(
      "[default]\nregion = eu-west-1\n\n[profile app.prod]\nrole_arn = arn:aws:iam::111111111111:role/app\nsource_profile = default\nduration_seconds = 3600\n",
    );
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("merges into the profile, removes settings set to null, and keeps everything else", async () => {
    const path = join(dir, "config");
    const other = "[sso-session corp]\nsso_start_url = https://x.awsapps.com/start\n\n";
    await writeFile(
      path,
      `${other}[profile app]\n# set by ops\nregion = us-east-1\ncredential_process = /bin/old\ns3 =\n  addressing_style = path\n`,
    );
    const result = await writeConfig(
      { region: "eu-west-1", credential_process: null, s3: null, output: "json" },
      { path, profile: "app" },
    );
    expect(result.changed).toBe(true);
    expect(await readFile(path, "utf8")).toBe(
      `${other}[profile app]\n# set by ops\nregion = eu-west-1\noutput = json\n`,
    );
    const again = await writeConfig({ region: "eu-west-1", output: "json" }, { path, profile: "app" });
    expect(again.changed).toBe(false);
  });

  it("replaces the whole profile when asked", async () => {
    const path = join(dir, "config");
    await writeFile(path, "[profile app]\nregion = a\nrole_arn = r\n");
    await writeConfig(
      { credential_process: "/usr/local/bin/creds --profile app" },
      { path, profile: "app", replace: true },
    );
    expect(await readFile(path, "utf8")).toBe(
      "[profile app]\ncredential_process = /usr/local/bin/creds --profile app\n",
    );
  });

  it("refuses settings SDKs would read differently", async () => {
    const path = join(dir, "config");
    for (const settings of [
      { "bad key": "v" },
      { region: "" },
      { region: " eu-west-1" },
      { region: "a\nb" },
      { credential_process: "/bin/x # comment" },
      { nested: { a: 1 } as unknown as string },
    ]) {
      const error = await writeConfig(settings, { path }).catch((e) => e);
      expect(isCredbridgeError(error) && error.code).toBe("ERR_CONFIG");
    }
    await expect(stat(path)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
