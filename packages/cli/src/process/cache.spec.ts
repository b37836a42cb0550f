import type { Stats } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseCommandLine } from "../args/parse.js";
import { cacheFileName, cacheIdentity, type ProcessCredentials, readCached } from "./cache.js";
import { untrusted } from "./cache-trust.js";
import { ensureCacheDir, writeCached } from "./write-cache.js";

const NOW = Date.parse("2026-06-01T00:00:00Z");
const CREDS: ProcessCredentials = {
  Version: 1,
  AccessKeyId: "ASIACACHEDKEY0000001",
  SecretAccessKey: "cached/secret",
  SessionToken: "cached-token",
  Expiration: "2026-06-01T01:00:00Z",
};
const me = process.geteuid?.();

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "credbridge-cache-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The identity `credbridge process ARGS` has under `env`, flags parsed as the CLI parses them. */
const identityOf = (args: string[], env: Record<string, string>) =>
  cacheIdentity(parseCommandLine(["process", ...args], env).flags, env);

/** Every variable any source reads, with a value that differs from the base environment's. */
const VARIABLES: Record<string, string> = {
  AWS_ROLE_ARN: "arn:aws:iam::111122223333:role/other",
  AWS_WEB_IDENTITY_TOKEN_FILE: "/other/token",
  AWS_ROLE_SESSION_NAME: "other",
  AWS_REGION: "ap-south-1",
  AWS_DEFAULT_REGION: "ap-south-2",
  AWS_ENDPOINT_URL_STS: "http://127.0.0.1:1",
  AWS_ENDPOINT_URL: "http://127.0.0.1:2",
  AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://127.0.0.1:3/c",
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/c",
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: "/other/pod-token",
  AWS_PROFILE: "other",
  AWS_ACCESS_KEY_ID: "AKIAOTHERKEY00000001",
  AWS_SHARED_CREDENTIALS_FILE: "/other/credentials",
  AWS_CONFIG_FILE: "/other/config",
  AWS_EC2_METADATA_DISABLED: "true",
  AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://127.0.0.1:4",
};
const STS = ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"];
const IRSA = {
  AWS_ROLE_ARN: "arn:aws:iam::111122223333:role/app",
  AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/token",
};
const POD = { AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://169.254.170.23/v1/credentials" };
const EXPLICIT = ["--role-arn", "arn:aws:iam::111122223333:role/app", "--web-identity-token-file", "/t"];
const ALL = Object.keys(VARIABLES);

describe("cacheIdentity", () => {
  // Each configuration, and exactly the variables whose change must change its key;
  // every other one must not (the AWS CLI sets AWS_CONFIG_FILE, a shell does not).
  it.each<[string, string[], Record<string, string>, string[]]>([
    [
      "explicit web identity",
      ["--source", "web-identity", ...EXPLICIT],
      {},
      ["AWS_ROLE_SESSION_NAME", ...STS],
    ],
    [
      "explicit web identity, region and endpoint",
      ["--source", "web-identity", ...EXPLICIT, "--region", "eu-west-1", "--sts-endpoint", "http://sts"],
      {},
      ["AWS_ROLE_SESSION_NAME"],
    ],
    ["auto, the IRSA pair in flags", EXPLICIT, {}, ["AWS_ROLE_SESSION_NAME", ...STS]],
    [
      "auto, IRSA from the environment",
      [],
      IRSA,
      ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME", ...STS],
    ],
    [
      "auto, Pod Identity",
      [],
      POD,
      [
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
      ],
    ],
    [
      "explicit Pod Identity",
      ["--source", "pod-identity"],
      POD,
      [
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
      ],
    ],
    [
      "Pod Identity, self-assumed",
      ["--source", "pod-identity", "--self-assume"],
      POD,
      [
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_ROLE_ARN",
        ...STS,
      ],
    ],
    [
      "Pod Identity, then a role",
      ["--source", "pod-identity", "--assume-role", "arn:aws:iam::444455556666:role/next"],
      POD,
      [
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        ...STS,
      ],
    ],
    ["the SDK's default chain", ["--source", "default"], {}, ALL],
    ["auto, nothing set: the default chain", [], {}, ALL],
  ])("%s: changes with exactly the variables its source reads", (_, args, base, reads) => {
    const before = identityOf(args, base);
    for (const name of ALL) {
      const after = identityOf(args, { ...base, [name]: VARIABLES[name] as string });
      if (reads.includes(name)) expect(after, `${name} is read`).not.toBe(before);
      else expect(after, `${name} is not read`).toBe(before);
    }
  });

  const env = { ...IRSA, AWS_REGION: "eu-west-1" };
  const base = identityOf([], env);

  it.each([
    [["--source", "default"]],
    [["--assume-role", "arn:aws:iam::444455556666:role/next"]],
    [["--assume-role", "arn:aws:iam::444455556666:role/next,external-id=x"]],
    [["--self-assume"]],
    [["--duration", "1800"]],
    [["--role-session-name", "other"]],
    [["--role-arn", "arn:aws:iam::111122223333:role/other"]],
    [["--region", "us-west-2"]],
  ])("changes with %j", (args) => {
    expect(identityOf(args, env)).not.toBe(base);
  });

  it.each([
    ["CREDBRIDGE_ASSUME_ROLE", "arn:aws:iam::444455556666:role/next"],
    ["CREDBRIDGE_DURATION", "1800"],
    ["CREDBRIDGE_SOURCE", "default"],
  ])("changes with %s, as with its flag", (name, value) => {
    expect(identityOf([], { ...env, [name]: value })).not.toBe(base);
  });

  it("does not change with the cache flags or the log level", () => {
    expect(identityOf(["--cache-dir", "/elsewhere", "--log-level", "debug"], env)).toBe(base);
  });

  it("never holds a secret", () => {
    const id = identityOf([], {
      ...env,
      AWS_SECRET_ACCESS_KEY: "the-secret-key",
      AWS_SESSION_TOKEN: "the-session-token",
      AWS_CONTAINER_AUTHORIZATION_TOKEN: "the-auth-token",
    });
    expect(id).not.toMatch(/the-secret-key|the-session-token|the-auth-token/);
  });

  it("an entry written for one source key is a miss for another", async () => {
    const a = identityOf(["--source", "default"], { AWS_ACCESS_KEY_ID: "AKIAFIRSTKEY00000001" });
    const b = identityOf(["--source", "default"], { AWS_ACCESS_KEY_ID: "AKIASECONDKEY0000001" });
    writeCached(join(dir, cacheFileName(a)), dir, a, CREDS);
    expect(readCached(join(dir, cacheFileName(a)), a, NOW, 0)).toEqual(CREDS);
    expect(readCached(join(dir, cacheFileName(b)), b, NOW, 0)).toBeUndefined();
    expect(readCached(join(dir, cacheFileName(a)), b, NOW, 0)).toBeUndefined();
  });
});

describe("untrusted", () => {
  const st = (uid: number, mode: number) => ({ uid, mode }) as Stats;
  it.each([
    [st(1000, 0o100600), 1000, undefined],
    [st(1000, 0o40700), 1000, undefined],
    [st(1000, 0o100644), 1000, undefined],
    [st(0, 0o100600), 1000, /belongs to uid 0, not to uid 1000/],
    [st(1000, 0o100620), 1000, /writable by group or others \(mode 0620\)/],
    [st(1000, 0o40777), 1000, /writable by group or others \(mode 0777\)/],
    [st(1000, 0o101777), 1000, /writable by group or others/],
    [st(1000, 0o100666), undefined, /writable by group or others/],
  ])("%o for uid %s", (stats, uid, problem) => {
    const found = untrusted("f", stats, uid);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });
});

describe("readCached", () => {
  const identity = identityOf([], {});
  const file = () => join(dir, cacheFileName(identity));
  const read = (uid = me) => {
    const warnings: string[] = [];
    const got = readCached(file(), identity, NOW, 0, { uid, logger: { error: (m) => warnings.push(m) } });
    return { got, warnings };
  };

  it("reads the user's own entry", async () => {
    writeCached(file(), dir, identity, CREDS);
    expect(read()).toEqual({ got: CREDS, warnings: [] });
  });

  it("never reads a file group or others can write: it may have been planted", async () => {
    await writeFile(file(), JSON.stringify({ identity, credentials: CREDS }), { mode: 0o666 });
    await chmod(file(), 0o666);
    const { got, warnings } = read();
    expect(got).toBeUndefined();
    expect(warnings.join()).toMatch(
      /ignoring the cached credentials: .* writable by group or others \(mode 0666\)/,
    );
  });

  it("never reads through a symbolic link", async () => {
    const elsewhere = join(dir, "elsewhere.json");
    await writeFile(elsewhere, JSON.stringify({ identity, credentials: CREDS }), { mode: 0o600 });
    await symlink(elsewhere, file());
    const { got, warnings } = read();
    expect(got).toBeUndefined();
    expect(warnings.join()).toMatch(/is a symbolic link/);
  });

  it("never reads from a directory group or others can write", async () => {
    writeCached(file(), dir, identity, CREDS);
    await chmod(dir, 0o777);
    const { got, warnings } = read();
    expect(got).toBeUndefined();
    expect(warnings.join()).toMatch(
      /not reading the cache: the cache directory .* writable by group or others/,
    );
  });

  it("never reads from a directory, or a file, of another user", async () => {
    writeCached(file(), dir, identity, CREDS);
    const { got, warnings } = read((me ?? 1000) + 1);
    expect(got).toBeUndefined();
    expect(warnings.join()).toMatch(/belongs to uid \d+, not to uid \d+/);
  });
});

describe("ensureCacheDir", () => {
  it("creates the directory 0700", async () => {
    const cache = join(dir, "home", ".cache", "credbridge");
    ensureCacheDir(cache).close();
    expect((await stat(cache)).mode & 0o777).toBe(0o700);
  });

  it("sets an existing directory of the user's that others can write to 0700, and says so", async () => {
    const cache = join(dir, "loose");
    await mkdir(cache);
    await chmod(cache, 0o777);
    const warnings: string[] = [];
    ensureCacheDir(cache, { logger: { error: (m) => warnings.push(m) } }).close();
    expect((await stat(cache)).mode & 0o777).toBe(0o700);
    expect(warnings).toEqual([
      `credbridge: the cache directory ${cache}: it is writable by group or others (mode 0777); set it to 0700`,
    ]);
  });

  it("refuses a directory of another user, naming what to do, and writes nothing there", async () => {
    const cache = join(dir, "theirs");
    await mkdir(cache, { mode: 0o700 });
    expect(() => writeCached(join(cache, "x.json"), cache, "id", CREDS, { uid: (me ?? 1000) + 1 })).toThrow(
      /belongs to uid \d+, not to uid \d+: not caching there\. Remove it, or pass --cache-dir/,
    );
    expect(await readdir(cache)).toEqual([]);
  });
});
