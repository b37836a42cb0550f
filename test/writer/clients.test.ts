import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fromIni } from "@aws-sdk/credential-provider-ini";
import { writeConfig, writeCredentials } from "@credbridge/writer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCredcheck } from "../compat/support/go-build.js";
import { run } from "../support/run.js";
import { fixture } from "./helpers.js";

const testRoot = fileURLToPath(new URL("..", import.meta.url));

/** Values with the characters that break naive INI handling: `=`, `/`, `+`. */
const TEMPORARY = {
  accessKeyId: "ASIAWRITERTEST0001",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  sessionToken: "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+abc/def==",
  accountId: "123456789012",
  expiration: new Date(Date.now() + 3_600_000),
};
const STATIC = { accessKeyId: "AKIAWRITERSTATIC01", secretAccessKey: "static/secret+key=" };

let dir: string;
let credentialsPath: string;
let configPath: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "credbridge-clients-"));
  credentialsPath = join(dir, "credentials");
  configPath = join(dir, "config");
  await writeCredentials(TEMPORARY, { path: credentialsPath, profile: "prod.eu-west-1" });
  await writeCredentials(STATIC, { path: credentialsPath });
  await writeConfig({ region: "eu-west-1" }, { path: configPath });
  await writeConfig(
    {
      region: "ap-southeast-2",
      credential_process: `${process.execPath} ${fixture("credential-process.mjs")}`,
    },
    { path: configPath, profile: "proc.app" },
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Only what these tests mean the clients to see, nothing from the machine's own AWS setup. */
const cleanEnv = () => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: dir,
  AWS_SHARED_CREDENTIALS_FILE: credentialsPath,
  AWS_CONFIG_FILE: configPath,
  AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: "1",
});

describe("@aws-sdk/credential-provider-ini (v3)", () => {
  const read = (profile: string) =>
    fromIni({ profile, filepath: credentialsPath, configFilepath: configPath, ignoreCache: true })();

  it("reads exactly the written keys, in a dotted profile", async () => {
    const c = await read("prod.eu-west-1");
    expect({ ...c, $source: undefined }).toEqual({
      accessKeyId: TEMPORARY.accessKeyId,
      secretAccessKey: TEMPORARY.secretAccessKey,
      sessionToken: TEMPORARY.sessionToken,
      accountId: TEMPORARY.accountId,
      $source: undefined,
    });
  });

  it("reads static keys without a token", async () => {
    const c = await read("default");
    expect(c).toMatchObject(STATIC);
    expect(c.sessionToken).toBeUndefined();
  });

  it("runs the credential_process written to a [profile NAME] section of the config file", async () => {
    const c = await read("proc.app");
    expect(c).toMatchObject({ accessKeyId: "ASIAPROCESSKEY", sessionToken: "process-token==" });
  });
});

describe("aws-sdk v2", () => {
  const script = `
    const AWS = require("aws-sdk");
    const [profile, filename, configFile] = process.argv.slice(1);
    const creds = new AWS.SharedIniFileCredentials({ profile, filename });
    creds.get((err) => {
      if (err) { console.error(err); process.exit(1); }
      const config = AWS.util.iniLoader.loadFrom({ filename: configFile, isConfig: true });
      console.log(JSON.stringify({
        accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey,
        sessionToken: creds.sessionToken ?? null, region: (config["proc.app"] || {}).region ?? null,
      }));
    });`;
  const read = async (profile: string) => {
    const r = await run(process.execPath, ["-e", script, profile, credentialsPath, configPath], {
      env: cleanEnv(),
      cwd: testRoot,
    });
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };

  it("reads exactly the written keys, and the config profile", async () => {
    expect(await read("prod.eu-west-1")).toEqual({
      accessKeyId: TEMPORARY.accessKeyId,
      secretAccessKey: TEMPORARY.secretAccessKey,
      sessionToken: TEMPORARY.sessionToken,
      region: "ap-southeast-2",
    });
    expect(await read("default")).toMatchObject({ ...STATIC, sessionToken: null });
  });
});

describe("botocore (/usr/bin/python3, Debian python3-botocore)", () => {
  const script = `
import json, sys
import botocore, botocore.session
out = {}
for profile in sys.argv[1:]:
    session = botocore.session.Session(profile=profile)
    c = session.get_credentials().get_frozen_credentials()
    out[profile] = {"access_key": c.access_key, "secret_key": c.secret_key, "token": c.token,
                    "region": session.get_config_variable("region")}
out["version"] = botocore.__version__
print(json.dumps(out))
`;

  it("reads exactly the written keys (aws_security_token first), the config and the credential_process", async () => {
    // Must fail, not skip, on a machine without botocore: .ci/run installs it.
    const r = await run("/usr/bin/python3", ["-c", script, "prod.eu-west-1", "default", "proc.app"], {
      env: cleanEnv(),
    });
    expect(r.code, `botocore is required (apt-get install python3-botocore): ${r.stderr}`).toBe(0);
    const out = JSON.parse(r.stdout);
    console.log(`clients: botocore ${out.version}`);
    expect(out["prod.eu-west-1"]).toEqual({
      access_key: TEMPORARY.accessKeyId,
      secret_key: TEMPORARY.secretAccessKey,
      token: TEMPORARY.sessionToken,
      region: null,
    });
    expect(out.default).toEqual({
      access_key: STATIC.accessKeyId,
      secret_key: STATIC.secretAccessKey,
      token: null,
      region: "eu-west-1",
    });
    expect(out["proc.app"]).toMatchObject({
      access_key: "ASIAPROCESSKEY",
      token: "process-token==",
      region: "ap-southeast-2",
    });
  });

  it("would read a stale aws_security_token before aws_session_token, which the writer therefore replaces or removes", async () => {
    await appendFile(
      credentialsPath,
      "\n[shadow]\naws_access_key_id = ASIAOLD\naws_secret_access_key = old\naws_session_token = old-token\naws_security_token = older-token\n",
    );
    const before = await run("/usr/bin/python3", ["-c", script, "shadow"], { env: cleanEnv() });
    expect(JSON.parse(before.stdout).shadow.token).toBe("older-token");
    await writeCredentials(
      { accessKeyId: "ASIANEW", secretAccessKey: "new", sessionToken: "new-token" },
      { path: credentialsPath, profile: "shadow", securityToken: false },
    );
    const after = await run("/usr/bin/python3", ["-c", script, "shadow"], { env: cleanEnv() });
    expect(after.code, after.stderr).toBe(0);
    expect(JSON.parse(after.stdout).shadow).toMatchObject({ access_key: "ASIANEW", token: "new-token" });
  });
});

describe("a section header with spaces, [ default ], beside the one written", () => {
  // botocore and the JS SDK read "[ default ]" as a section named " default ";
  // aws-sdk-go v1 trims it to "default" and lets the last such section win.
  const SPACED =
    "[ default ]\naws_access_key_id = AKIASPACEDHEADER01\naws_secret_access_key = spaced/secret\n";
  const written = { accessKeyId: "AKIAWRITTENDEFAULT1", secretAccessKey: "written/secret+key" };

  let credcheck: string;
  beforeAll(async () => {
    credcheck = (await buildCredcheck()).binary;
  }, 300_000);

  const botocore = `
import json, sys, botocore.session, botocore.configloader
c = botocore.session.Session(profile="default").get_credentials().get_frozen_credentials()
print(json.dumps({"access_key": c.access_key, "sections": sorted(botocore.configloader.raw_config_parse(sys.argv[1]).keys())}))
`;

  it.each([
    ["alone", SPACED],
    // The layout where aws-sdk-go would read the spaced one: it comes last.
    [
      "after a [default]",
      `[default]\naws_access_key_id = AKIAOLDDEFAULT00001\naws_secret_access_key = old\n\n${SPACED}`,
    ],
  ])(
    "%s: kept byte for byte, and botocore, the JS SDK and aws-sdk-go v1 all read the written keys as the default profile",
    async (name, seed) => {
      const file = join(dir, `spaced-${name.replace(/\W+/g, "-")}`);
      await writeFile(file, seed);
      await writeCredentials(written, { path: file });
      expect(await readFile(file, "utf8")).toContain(SPACED);

      const r = await run("/usr/bin/python3", ["-c", botocore, file], {
        env: { ...cleanEnv(), AWS_SHARED_CREDENTIALS_FILE: file },
      });
      expect(r.code, `botocore is required (apt-get install python3-botocore): ${r.stderr}`).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({
        access_key: written.accessKeyId,
        sections: [" default ", "default"],
      });

      const v3 = await fromIni({
        profile: "default",
        filepath: file,
        configFilepath: configPath,
        ignoreCache: true,
      })();
      expect(v3.accessKeyId).toBe(written.accessKeyId);

      const { code, stdout: out } = await run(credcheck, ["shared-file"], {
        env: { PATH: "/usr/bin:/bin", HOME: dir, AWS_SHARED_CREDENTIALS_FILE: file },
        input: "get\n",
      });
      expect(code, out).toBe(0);
      const answers = out
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(answers.at(-1)).toMatchObject({ ok: true, creds: { accessKeyId: written.accessKeyId } });
    },
  );
});
