/**
 * credbridge as a pod's securityContext runs it: uid 65532 with no passwd entry
 * on this machine, no HOME, no capabilities (all dropped, as the manifests do),
 * or root with every capability dropped. Real processes, real uids; the STS
 * emulator counts the calls that reached it.
 */
import { chmod, mkdir } from "node:fs/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../support/cli.js";
import { irsaFixture } from "../support/irsa.js";
import { run } from "../support/run.js";
import { setprivAs } from "../support/setpriv.js";

/** The manifests' sidecar user; not in this machine's /etc/passwd (checked below). */
const SIDECAR = 65532;
const AS_SIDECAR = setprivAs(SIDECAR, SIDECAR);
const AS_ROOT_NO_CAPS = setprivAs(0, 0);

let fx: Awaited<ReturnType<typeof irsaFixture>>;
beforeAll(async () => {
  if (process.geteuid?.() !== 0) throw new Error("these tests switch to other uids and need root");
  const passwd = await run("getent", ["passwd", `${SIDECAR}`]);
  if (passwd.code === 0)
    throw new Error(`uid ${SIDECAR} has a passwd entry here; the test needs one without`);
  fx = await irsaFixture();
  await chmod(fx.tmp.dir, 0o755);
  await chmod(fx.tokenFile, 0o644);
  await mkdir(fx.tmp.path("shared"), { mode: 0o777 });
  await chmod(fx.tmp.path("shared"), 0o777);
});
afterAll(() => fx.close());
afterEach(() => fx.sts.reset());

/** `credbridge ARGS` through setpriv, with the pod's environment and no HOME (unless `extra` sets one). */
const asPodUser = (who: string[], args: string[], extra: Record<string, string> = {}) => {
  const { HOME: _home, ...env } = fx.env({ CREDBRIDGE_SELF_ASSUME: "true", ...extra });
  const home = extra.HOME === undefined ? {} : { HOME: extra.HOME };
  return run("setpriv", [...who, process.execPath, CLI, ...args], { env: { ...env, ...home }, cwd: "/" });
};

describe("--file-owner that the process can never give files to", () => {
  it.each([
    ["serve as uid 65532 without CAP_CHOWN", AS_SIDECAR, "serve", `${SIDECAR}:${SIDECAR} without CAP_CHOWN`],
    ["write as uid 65532 without CAP_CHOWN", AS_SIDECAR, "write", `${SIDECAR}:${SIDECAR} without CAP_CHOWN`],
    ["serve as root with every capability dropped", AS_ROOT_NO_CAPS, "serve", "0:0 with CAP_CHOWN dropped"],
  ])(
    "%s: refused at start, before any STS call, naming the cause and the fixes",
    async (_, who, command, cause) => {
      const file = fx.tmp.path("shared", "credentials");
      const r = await asPodUser(who, [command, "--credentials-file", file, "--file-owner", "10000:10000"], {
        CREDBRIDGE_METRICS: "127.0.0.1:0",
      });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`credbridge ${command}: cannot give ${file} to 10000:10000`);
      expect(r.stderr).toContain(cause);
      expect(r.stderr).toContain("runAsUser: 10000, runAsGroup: 10000");
      expect(r.stderr).toContain('add: ["CHOWN"]');
      expect(fx.sts.calls).toEqual([]);
    },
  );
});

describe("no home directory (HOME unset, a uid the passwd file does not name)", () => {
  it("doctor resolves IRSA and the self-assume with STS, as in the sidecar", async () => {
    const r = await asPodUser(AS_SIDECAR, ["doctor"]);
    expect(r.stdout).not.toContain("uv_os_homedir");
    expect(r.stdout).toMatch(/^result: every step works$/m);
    expect(r.code, r.stdout).toBe(0);
    expect(fx.sts.calls.map((c) => c.action)).toContain("AssumeRole");
  });

  it("write to an explicit file works; to the default one, it names what is missing", async () => {
    const ok = await asPodUser(AS_SIDECAR, [
      "write",
      "--credentials-file",
      fx.tmp.path("shared", "home-less"),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const missing = await asPodUser(AS_SIDECAR, ["write"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no home directory to place ~\/\.aws\/credentials in \(HOME is unset/);
    expect(missing.stderr).toContain("AWS_SHARED_CREDENTIALS_FILE");
  });

  it("says HOME is empty, not unset, when a runtime sets it to nothing", async () => {
    const write = await asPodUser(AS_SIDECAR, ["write"], { HOME: "" });
    expect(write.code).toBe(1);
    expect(write.stderr).toContain(`(HOME is empty and uid ${SIDECAR} has no passwd entry)`);
    const process = await asPodUser(AS_SIDECAR, ["process", "--log-level", "warn"], { HOME: "" });
    expect(process.stderr).toContain("no home directory (HOME is empty and this uid has no passwd entry)");
  });

  it("process answers without a cache, and says why", async () => {
    const r = await asPodUser(AS_SIDECAR, ["process", "--log-level", "warn"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ Version: 1 });
    expect(r.stderr).toMatch(/no cache: no home directory .*--cache-dir or XDG_CACHE_HOME/);
  });
});
