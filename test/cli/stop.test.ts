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
