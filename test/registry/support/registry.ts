import { type ChildProcess, spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { HERE, type Place } from "../../support/place.js";
import type { RegistryBuild } from "./builds.js";
import { BUCKET } from "./s3-world.js";

export type ExamplePath = "irsa" | "imds" | "pod-identity";

const exampleManifest = (path: ExamplePath) =>
  fileURLToPath(new URL(`../../../examples/kubernetes/${path}/harbor-registry.yaml`, import.meta.url));

type RegistryConfig = {
  storage: { s3: Record<string, unknown>; redirect?: { disable: boolean } } & Record<string, unknown>;
  http: Record<string, unknown>;
} & Record<string, unknown>;

/**
 * The registry configuration of an example manifest (its ConfigMap's
 * `config.yml`), pointed at the test's S3 front: `regionendpoint` (which also
 * makes the driver use path-style addressing), plain http, the test's bucket,
 * redirects off so blobs flow through the registry, and a loopback address.
 * Fails if the example carries S3 keys: the point is that it has none.
 */
export const registryConfigFromExample = async (
  path: ExamplePath,
  s3Endpoint: string,
  addr: string,
): Promise<RegistryConfig> => {
  const docs = parseAllDocuments(await readFile(exampleManifest(path), "utf8")).map((d) => d.toJS());
  const configMap = docs.find((d) => d?.kind === "ConfigMap");
  const text = configMap?.data?.["config.yml"];
  if (typeof text !== "string") throw new Error(`examples/kubernetes/${path}: no ConfigMap with config.yml`);
  const config = parseAllDocuments(text)[0]!.toJS() as RegistryConfig;
  for (const key of ["accesskey", "secretkey", "sessiontoken"]) {
    if (key in config.storage.s3)
      throw new Error(`examples/kubernetes/${path}: storage.s3.${key} must not be set`);
  }
  config.storage.s3 = { ...config.storage.s3, bucket: BUCKET, regionendpoint: s3Endpoint, secure: false };
  config.storage.redirect = { disable: true };
  config.http = { ...config.http, addr };
  return config;
};

export interface RunningRegistry {
  readonly child: ChildProcess;
  /** `host:port` it listens on: the registry part of an image reference. */
  readonly address: string;
  /** The registry's log (logrus text on stderr) so far. */
  log(): string;
  /** Resolves once a log line matches. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

/** The registry's whole environment: PATH, HOME and what the path under test injects. */
export const registryEnv = (home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: "/usr/bin:/bin",
  HOME: home,
  ...extra,
});

/**
 * Starts `<registry> serve <config>` of one build and waits until it listens.
 * `env` is its whole environment: nothing of the test runner's leaks in.
 */
export const startRegistry = async (options: {
  build: RegistryBuild;
  configFile: string;
  config: RegistryConfig;
  env: NodeJS.ProcessEnv;
  place?: Place;
  uid?: number;
  gid?: number;
}): Promise<RunningRegistry> => {
  await writeFile(options.configFile, JSON.stringify(options.config), { mode: 0o644 });
  const binary = await options.build.binary();
  const name = options.build.name;
  const [command, args] = (options.place ?? HERE).wrap(binary, ["serve", options.configFile]);
  const child = spawn(command, args, {
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
  let log = "";
  const waiters = new Set<() => void>();
  const append = (chunk: Buffer) => {
    log += chunk.toString();
    for (const wake of waiters) wake();
  };
  child.stdout!.on("data", append);
  child.stderr!.on("data", append);
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const wake of waiters) wake();
  });
  child.once("error", (error: NodeJS.ErrnoException) => {
    const hint = error.code === "ENOENT" ? ` (${command} missing: apt-get install iproute2)` : "";
    log += `\nspawn error: ${error.message}${hint}`;
  });

  const waitForLog = (pattern: RegExp, timeoutMs = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const line = log.split("\n").find((l) => pattern.test(l));
        if (line !== undefined) return done(() => resolve(line));
        if (gone) return done(() => reject(new Error(`${name} exited before ${pattern}:\n${log}`)));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`${name}: no log line ${pattern} in ${timeoutMs} ms:\n${log}`))),
        timeoutMs,
      );
      const done = (settle: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        settle();
      };
      waiters.add(check);
      check();
    });

  const registry: Omit<RunningRegistry, "address"> = {
    child,
    log: () => log,
    waitForLog,
    stop: async () => {
      if (!gone) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
  let address: string;
  try {
    address = /listening on ([^\s"]+)/.exec(await waitForLog(/listening on/))![1]!;
  } catch (error) {
    await registry.stop();
    throw error;
  }
  // `[::]:5000` when bound to every address; clients use loopback.
  return { ...registry, address: address.replace(/^\[::\]|^0\.0\.0\.0/, "127.0.0.1") };
};
