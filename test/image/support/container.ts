import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { type RunningCli, startCli } from "../../support/cli.js";
import { LIMITS, podman } from "./image.js";

/** A container name no other test run uses. */
export const containerName = (what: string): string =>
  `credbridge-test-${what}-${process.pid}-${randomBytes(3).toString("hex")}`;

export interface ContainerOptions {
  name: string;
  image: string;
  /** podman run flags: security, volumes, ports, environment. */
  flags: string[];
  /** The arguments after the image: the command's (the entrypoint is credbridge). */
  args: string[];
}

/**
 * `podman run --rm` in the foreground, as a {@link RunningCli}: its JSON log
 * lines (the container's stderr) can be awaited, its exit is the container's.
 */
export const startContainer = (o: ContainerOptions): RunningCli =>
  startCli(o.args, { PATH: process.env.PATH }, (_node, argv) => [
    "podman",
    ["--runtime", "runc", "run", "--rm", "--name", o.name, ...LIMITS, ...o.flags, o.image, ...argv.slice(1)],
  ]);

/** The first log line with `msg`; fails at once, with the container's output, if it exits first. */
export const untilLogged = (run: RunningCli, msg: string, timeoutMs = 60_000) =>
  Promise.race([
    run.waitFor((l) => l.msg === msg, timeoutMs),
    run.exited.then((exit) => {
      throw new Error(
        `the container exited (${exit.code ?? exit.signal}) before "${msg}":\n${run.lines.join("\n")}`,
      );
    }),
  ]);

/** `--env NAME=VALUE` for each variable. */
export const envFlags = (env: Record<string, string>): string[] =>
  Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]);

/** Removes the container whatever its state; for cleanup. */
export const removeContainer = async (name: string): Promise<void> => {
  await podman(["rm", "--force", "--time", "0", name]).catch(() => undefined);
};

/** The host address where `podman port` publishes `port` of the container, as host:port. */
export const publishedAddress = async (name: string, port: string): Promise<string> =>
  (await podman(["port", name, port])).stdout.trim().split("\n")[0]!;

/** The host PID of the container's PID 1, and what its /proc says about it. */
export const pidOne = async (name: string) => {
  const pid = Number((await podman(["inspect", "--format", "{{.State.Pid}}", name])).stdout.trim());
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return {
    pid,
    /** The PID in each namespace, outermost first: the last is the PID inside the container. */
    nsPids: /^NSpid:\s+(.+)$/m.exec(status)![1]!.trim().split(/\s+/).map(Number),
    argv: readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean),
    uid: Number(/^Uid:\s+(\d+)/m.exec(status)![1]),
    capEff: /^CapEff:\s+(\w+)/m.exec(status)![1]!,
    noNewPrivs: /^NoNewPrivs:\s+(\d)/m.exec(status)![1] === "1",
    rssBytes: Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) * 1024,
  };
};

/** The gateway of podman's default bridge: the host as containers on it reach it. */
export const bridgeGateway = async (): Promise<string> => {
  const [network] = JSON.parse((await podman(["network", "inspect", "podman"])).stdout) as {
    subnets?: { gateway?: string }[];
  }[];
  const gateway = network?.subnets?.[0]?.gateway;
  if (!gateway)
    throw new Error("podman's default network has no gateway: cannot reach the host from a container");
  return gateway;
};
