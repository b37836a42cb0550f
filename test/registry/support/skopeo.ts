import { execFile } from "node:child_process";
import { HERE, type Place } from "../../support/place.js";

export const SKOPEO_BIN = "/usr/bin/skopeo";

export interface SkopeoResult {
  ok: boolean;
  stderr: string;
  ms: number;
}

/** Runs `skopeo ARGS` (a real registry client) and reports how it ended; never throws for a failed copy. */
export const skopeo = (args: string[], place: Place = HERE, timeoutMs = 30_000): Promise<SkopeoResult> => {
  const [command, full] = place.wrap(SKOPEO_BIN, args);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    execFile(
      command,
      full,
      { timeout: timeoutMs, env: { PATH: "/usr/bin:/bin", HOME: "/tmp" } },
      (error, _out, stderr) => {
        if (error && (error as NodeJS.ErrnoException).code === "ENOENT") {
          reject(new Error(`${command} is not installed: apt-get install skopeo`));
          return;
        }
        resolve({ ok: error === null, stderr, ms: Date.now() - started });
      },
    );
  });
};

/** skopeo copy from an OCI layout into the registry (plain http). */
export const push = (ociRef: string, registryRef: string, place?: Place) =>
  skopeo(["copy", "--quiet", "--dest-tls-verify=false", ociRef, `docker://${registryRef}`], place);

/** skopeo copy out of the registry into an OCI layout. */
export const pull = (registryRef: string, ociRef: string, place?: Place) =>
  skopeo(["copy", "--quiet", "--src-tls-verify=false", `docker://${registryRef}`, ociRef], place);
