import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { AwsCredentialIdentity } from "@smithy/types";

/** The test package's directory: child Node clients resolve their SDKs from its node_modules. */
export const TEST_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

/** What a client process prints for each command. */
export interface ClientCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string | null;
  expiration: string | null;
  /** botocore's name for the provider that produced them (`iam-role`, `container-role`). */
  method?: string;
}

/**
 * A long-running client process, driven one line at a time: `get` resolves
 * credentials the way the SDK does on first use, `refresh` goes through the
 * SDK's own refresh path. One process per client proves a long-lived process
 * sees rotated keys, which is the point of the shim.
 */
export interface ClientProcess {
  ask(command: "get" | "refresh"): Promise<ClientCredentials>;
  close(): Promise<void>;
}

export const spawnClient = (command: string, args: string[], env: Record<string, string>): ClientProcess => {
  const child: ChildProcessWithoutNullStreams = spawn(command, args, { cwd: TEST_DIR, env, stdio: "pipe" });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d: string) => {
    stderr += d;
  });
  const waiting: Array<{ resolve: (line: string) => void; reject: (e: Error) => void }> = [];
  let exited: Error | undefined;
  const fail = (error: Error) => {
    exited = error;
    for (const w of waiting.splice(0)) w.reject(error);
  };
  child.on("error", (error) => fail(new Error(`cannot start ${command}: ${error.message}`)));
  child.on("exit", (code, signal) =>
    fail(new Error(`${command} exited (${code ?? signal}) before answering; stderr:\n${stderr}`)),
  );
  createInterface({ input: child.stdout }).on("line", (line) => waiting.shift()?.resolve(line));

  const ask = (cmd: "get" | "refresh"): Promise<ClientCredentials> =>
    new Promise<string>((resolve, reject) => {
      if (exited) return reject(exited);
      waiting.push({ resolve, reject });
      child.stdin.write(`${cmd}\n`);
    }).then((line) => {
      const reply = JSON.parse(line) as { ok: boolean; creds?: ClientCredentials; error?: string };
      if (!reply.ok || !reply.creds)
        throw new Error(`${command} ${cmd} failed: ${reply.error}\nstderr:\n${stderr}`);
      return reply.creds;
    });

  const close = async () => {
    if (exited) return;
    const gone = new Promise((resolve) => child.once("exit", resolve));
    child.stdin.end();
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await gone;
    clearTimeout(timer);
  };
  return { ask, close };
};

/**
 * A Node client: `setup` is CommonJS that defines `get` and `refresh`, each
 * returning credentials in the SDK's own shape (v3 identity or v2 Credentials).
 */
export const nodeClient = (setup: string, env: Record<string, string>): ClientProcess =>
  spawnClient(
    process.execPath,
    [
      "-e",
      `${setup}
const out = (o) => process.stdout.write(JSON.stringify(o) + "\\n");
const iso = (d) => (d ? new Date(d).toISOString() : null);
require("node:readline").createInterface({ input: process.stdin }).on("line", async (cmd) => {
  try {
    const c = await (cmd === "refresh" ? refresh() : get());
    out({ ok: true, creds: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken ?? null, expiration: iso(c.expiration ?? c.expireTime) } });
  } catch (e) {
    out({ ok: false, error: String((e && e.stack) || e) });
  }
});`,
    ],
    env,
  );

/**
 * botocore (Debian's python3-botocore under /usr/bin/python3) through its
 * default credential chain. `get` resolves the chain as a new session does;
 * `refresh` runs the refresh botocore itself runs when its mandatory window
 * opens (`_protected_refresh` under its lock) on the same long-lived
 * `RefreshableCredentials`. A missing botocore fails the test: it is required.
 */
export const botocoreClient = (env: Record<string, string>): ClientProcess =>
  spawnClient(
    "/usr/bin/python3",
    [
      "-c",
      `
import json, sys
import botocore.session
session = botocore.session.get_session()
creds = None
def out(o):
    sys.stdout.write(json.dumps(o) + "\\n")
    sys.stdout.flush()
while True:
    line = sys.stdin.readline()
    if not line:
        break
    cmd = line.strip()
    try:
        if cmd == "get" or creds is None:
            creds = session.get_credentials()
            if creds is None:
                raise RuntimeError("botocore found no credentials")
        else:
            with creds._refresh_lock:
                creds._protected_refresh(is_mandatory=True)
        f = creds.get_frozen_credentials()
        expiry = getattr(creds, "_expiry_time", None)
        out({"ok": True, "creds": {"accessKeyId": f.access_key, "secretAccessKey": f.secret_key,
             "sessionToken": f.token, "expiration": expiry.isoformat() if expiry else None,
             "method": creds.method}})
    except Exception as e:
        out({"ok": False, "error": repr(e)})
`,
    ],
    env,
  );

/** An environment with no AWS settings but the given ones, and empty config files. */
export const isolatedEnv = async () => {
  const home = await mkdtemp(join(tmpdir(), "credbridge-client-"));
  const empty = join(home, "empty");
  await writeFile(empty, "");
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    AWS_CONFIG_FILE: empty,
    AWS_SHARED_CREDENTIALS_FILE: empty,
    AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: "1",
    AWS_REGION: "eu-west-1",
  };
  return { home, base, cleanup: () => rm(home, { recursive: true, force: true }) };
};

export const KEYS = (name: string): AwsCredentialIdentity => ({
  accessKeyId: `ASIA${name.toUpperCase().padEnd(16, "X")}`,
  secretAccessKey: `secret-${name}-${"s".repeat(32)}`,
  sessionToken: `session-${name}`,
});

/**
 * A provider the test rotates: returns the current keys with an hour to live,
 * and counts its calls.
 */
export const rotatingProvider = (first: AwsCredentialIdentity) => {
  let current = first;
  const state = { calls: 0 };
  return {
    state,
    provider: async (): Promise<AwsCredentialIdentity> => {
      state.calls++;
      return { ...current, expiration: new Date(Date.now() + 3_600_000) };
    },
    rotate: (next: AwsCredentialIdentity) => {
      current = next;
    },
  };
};
