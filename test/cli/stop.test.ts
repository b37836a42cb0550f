import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type RunningCli, startCli } from "../support/cli.js";
import { irsaFixture } from "../support/irsa.js";
import { forkFixture, isStopped, killFixtures } from "../writer/helpers.js";

/** "Within a second or two" of the signal, on a loaded two-core machine. */
const STOP_BUDGET_MS = 2_000;

let fx: Awaited<ReturnType<typeof irsaFixture>>;
beforeAll(async () => {
  fx = await irsaFixture();
});
afterAll(() => fx.close());
afterEach(() => {
  fx.sts.reset();
  killFixtures();
});

/** Resolves once STS holds a request it will never answer. */
const stsHangs = () =>
  vi.waitFor(() => expect(fx.sts.calls.some((c) => c.fault === "hang" && c.status === 0)).toBe(true), {
    timeout: 15_000,
    interval: 5,
  });

/**
 * Resolves once credbridge's signal handlers are installed, or it has exited:
 * a SIGTERM sent earlier would end it by Node's default and prove nothing.
 * Node itself catches SIGTERM and SIGINT from the start, so SigCgt in /proc
 * shows the SIGHUP bit instead, which the bin installs with the other two.
 */
const catchesSigterm = (cli: RunningCli) =>
  vi.waitFor(
    async () => {
      if (cli.child.exitCode !== null || cli.child.signalCode !== null) return;
      const status = await readFile(`/proc/${cli.child.pid}/status`, "utf8");
      const caught = BigInt(`0x${status.match(/^SigCgt:\s+([0-9a-f]+)/m)?.[1] ?? "0"}`);
      expect(caught & 1n).toBe(1n);
    },
    { timeout: 15_000, interval: 5 },
  );

/** Sends the signal and measures how long the command takes to exit (bounded, so the old behaviour fails here). */
const signal = async (cli: RunningCli, name: NodeJS.Signals) => {
  const started = performance.now();
  cli.child.kill(name);
  const exit = await Promise.race([
    cli.exited,
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10_000)),
  ]);
  const ms = performance.now() - started;
  await cli.stop("SIGKILL");
  if (exit === undefined) throw new Error(`still running ${Math.round(ms)} ms after ${name}`);
  return { ...exit, ms };
};

describe("write, process and doctor stop on SIGTERM and SIGINT while STS never answers", () => {
  it.each([
    ["write", "SIGTERM"],
    ["write", "SIGINT"],
    ["process", "SIGTERM"],
    ["doctor", "SIGTERM"],
  ] as const)(
    "%s, %s: exits 1 within the budget, naming the signal, and leaves no file, lock or cache entry",
    async (command, sig) => {
      const dir = fx.tmp.path(`hung-${command}-${sig}`);
      await mkdir(dir);
      const file = `${dir}/credentials`;
      const cache = `${dir}/cache`;
      const args = {
        write: ["write", "--credentials-file", file],
        process: ["process", "--cache-dir", cache],
        doctor: ["doctor"],
      }[command];
      fx.sts.hang();
      const cli = startCli(args, fx.env());
      await stsHangs();
      const exit = await signal(cli, sig);
      console.log(
        `stop: ${command} exited ${exit.code} ${Math.round(exit.ms)} ms after ${sig} with STS hung`,
      );
      expect(exit.code).toBe(1);
      expect(exit.ms).toBeLessThan(STOP_BUDGET_MS);
      expect(cli.lines.join("\n")).toMatch(
        new RegExp(`credbridge ${command}: stopped by ${sig} while waiting for`),
      );
      expect(cli.stdout()).toBe("");
      expect(await readdir(dir)).toEqual([]);
    },
  );
});

describe("write, waiting for the lock a stopped writer holds", () => {
  it("SIGTERM: exits 1 within the budget; the holder's lock and the file untouched, no ticket of its own left", async () => {
    const dir = fx.tmp.path("lock-wait");
    await mkdir(dir);
    const file = `${dir}/credentials`;
    await writeFile(file, "[keep]\naws_access_key_id = AKIAKEEP\naws_secret_access_key = keep\n");
    // A writer frozen (SIGSTOP) inside its critical section, lock held.
    const holder = forkFixture("stop-in-lock.mjs", [file, "1", "before-rename", "10000"]);
    await new Promise<void>((resolve, reject) => {
      holder.child.stdout?.on("data", (d) => String(d).includes("stopping") && resolve());
      holder.child.once("exit", (code) => reject(new Error(`the holder exited (${code}) before stopping`)));
    });
    await vi.waitFor(async () => expect(await isStopped(holder.child.pid ?? 0)).toBe(true), {
      timeout: 10_000,
    });
    const lock = await readdir(`${file}.lock`);

    const cli = startCli(["write", "--credentials-file", file], fx.env());
    // Queued: its ticket is in the lock's queue.
    await vi.waitFor(() => expect(existsSync(`${file}.lock.q`)).toBe(true), { timeout: 15_000, interval: 5 });
    const exit = await signal(cli, "SIGTERM");
    console.log(
      `stop: write exited ${exit.code} ${Math.round(exit.ms)} ms after SIGTERM while waiting for the lock`,
    );
    expect(exit.code).toBe(1);
    expect(exit.ms).toBeLessThan(STOP_BUDGET_MS);
    expect(cli.lines.join("\n")).toMatch(
      /stopped \(SIGTERM\) while waiting for the lock on .*; the file is unchanged/,
    );
    expect((await readdir(dir)).sort()).toEqual(["credentials", "credentials.lock"]);
    expect(await readdir(`${file}.lock`)).toEqual(lock);
    expect(await readFile(file, "utf8")).toContain("[keep]");

    // The holder, once continued, finishes its write and releases its lock.
    holder.child.kill("SIGCONT");
    const done = await holder.exited;
    expect(done.stdout).toContain('{"ok":true}');
    expect(await readdir(dir)).toEqual(["credentials"]);
  });
});

describe("every command with a web-identity token that never opens (a FIFO nobody writes, as a hung mount behaves)", () => {
  it.each(["write", "process", "doctor", "serve"] as const)(
    "%s: exits within the budget of SIGTERM (or at once, the FIFO refused), leaving nothing behind",
    async (command) => {
      const dir = fx.tmp.path(`fifo-${command}`);
      await mkdir(dir);
      const fifo = `${dir}/token`;
      execFileSync("mkfifo", [fifo]);
      const file = `${dir}/credentials`;
      const args = {
        write: ["write", "--credentials-file", file],
        process: ["process", "--cache-dir", `${dir}/cache`],
        doctor: ["doctor"],
        serve: ["serve", "--credentials-file", file],
      }[command];
      const cli = startCli(args, fx.env({ AWS_WEB_IDENTITY_TOKEN_FILE: fifo }));
      await catchesSigterm(cli);
      const exit = await signal(cli, "SIGTERM");
      console.log(
        `stop: ${command} with a FIFO token exited ${exit.code} ${Math.round(exit.ms)} ms after SIGTERM`,
      );
      // serve stopped during its start-up has nothing to undo: 0, as any stop of serve's.
      expect(exit.code).toBe(command === "serve" && exit.code === 0 ? 0 : 1);
      expect(exit.ms).toBeLessThan(STOP_BUDGET_MS);
      expect((await readdir(dir)).sort()).toEqual(["token"]);
    },
  );
});

describe("serve's stop with --remove-on-exit", () => {
  it("a dead writer's lock beside the file: exits 1 within its budget, saying the profile is still there, and leaves no ticket in the lock's queue", async () => {
    const dir = fx.tmp.path("remove-on-exit");
    await mkdir(dir);
    const file = `${dir}/credentials`;
    const cli = startCli(["serve", "--credentials-file", file, "--remove-on-exit"], fx.env());
    await expect
      .poll(() => readFile(file, "utf8").catch(() => ""), { timeout: 10_000 })
      .toContain("[default]");
    // A writer killed while it held the lock, a moment ago.
    await mkdir(`${file}.lock/4190000-deadbeef0000`, { recursive: true });
    const started = performance.now();
    const { code } = await cli.stop();
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(code).toBe(1);
    const log = cli.lines.join("\n");
    expect(log).toContain(`could not remove [default] from ${file} on stop`);
    expect(log).toContain("stopped, but the profile is still in the credentials file (--remove-on-exit)");
    expect((await readFile(file, "utf8")).startsWith("[default]")).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(["credentials", "credentials.lock"]);
  });
});
