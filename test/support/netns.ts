import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { imdsAddressRecipe } from "./imds-recipe.js";
import type { Place } from "./place.js";

const run = promisify(execFile);
const BRIDGE = fileURLToPath(new URL("./bridge.mjs", import.meta.url));

/** The address old SDKs hard-code for EC2 instance metadata. */
export const IMDS_ADDRESS = "169.254.169.254";

export interface NetworkNamespace extends Place {
  readonly name: string;
  /**
   * Makes `<host>:<port>` inside the namespace (host 127.0.0.1 unless given;
   * 169.254.169.254 puts a server outside at the IMDS address) reach `target`
   * (a URL of a server outside it), through a Unix socket in `socketDir`.
   * Returns the URL to use inside.
   */
  expose(port: number, target: string, socketDir: string, host?: string): Promise<string>;
  /** Deletes the namespace and stops every bridge. Safe to call twice. */
  close(): Promise<void>;
}

const ip = async (args: string[]): Promise<void> => {
  try {
    await run("ip", args);
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    throw new Error(
      `ip ${args.join(" ")} failed: ${e.code === "ENOENT" ? "ip is not installed (apt-get install iproute2)" : (e.stderr ?? e.message).trim()}`,
    );
  }
};

/**
 * Creates a network namespace with a unique name, loopback up (what the pod
 * sandbox gives every pod) and 169.254.169.254/32 on `lo` by running the IMDS
 * example's init container command inside it, as written in the manifest
 * (unless `imdsAddress` is false: then that address is unreachable inside). Throws,
 * naming the reason, when it cannot (not root, no CAP_SYS_ADMIN, no `ip`): a
 * test that needs the namespace must fail, not pass without it.
 */
export const createNetworkNamespace = async (
  options: { imdsAddress?: boolean } = {},
): Promise<NetworkNamespace> => {
  const name = `credbridge-test-${process.pid}-${randomBytes(3).toString("hex")}`;
  await ip(["netns", "add", name]);
  const bridges: ChildProcess[] = [];
  const servers: Server[] = [];
  const sockets: string[] = [];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const bridge of bridges) bridge.kill("SIGKILL");
    for (const server of servers) server.close();
    await Promise.all(sockets.map((s) => rm(s, { force: true })));
    await ip(["netns", "delete", name]);
  };
  try {
    await ip(["-n", name, "link", "set", "lo", "up"]);
    if (options.imdsAddress !== false) await ip(["netns", "exec", name, ...imdsAddressRecipe().init.command]);
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
  const wrap: Place["wrap"] = (command, args) => ["ip", ["netns", "exec", name, command, ...args]];
  return {
    name,
    wrap,
    expose: async (port, target, socketDir, host = "127.0.0.1") => {
      const url = new URL(target);
      const socket = `${socketDir}/bridge-${host}-${port}.sock`;
      const server = createServer((inbound) => {
        const outbound = connect(Number(url.port), url.hostname);
        inbound.pipe(outbound).pipe(inbound);
        inbound.on("error", () => outbound.destroy());
        outbound.on("error", () => inbound.destroy());
      });
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(socket, () => resolve());
      });
      servers.push(server);
      sockets.push(socket);
      const [command, args] = wrap(process.execPath, [BRIDGE, `${host}:${port}=${socket}`]);
      const bridge = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
      bridges.push(bridge);
      await new Promise<void>((resolve, reject) => {
        let err = "";
        bridge.stderr!.on("data", (d) => {
          err += d;
        });
        bridge.stdout!.once("data", () => resolve());
        bridge.once("exit", (code) => reject(new Error(`bridge to ${target} exited (${code}): ${err}`)));
      });
      return port === 80 ? `http://${host}` : `http://${host}:${port}`;
    },
    close,
  };
};
