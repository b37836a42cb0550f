import { execFile } from "node:child_process";

/** Where a child process runs: here, or inside a network namespace (`ip netns exec`). */
export interface Place {
  /** The command line that runs `command args` in this place. */
  wrap(command: string, args: readonly string[]): [string, string[]];
}

export const HERE: Place = { wrap: (command, args) => [command, [...args]] };

/**
 * GETs `url` from a place (a namespace's loopback is out of reach from here)
 * with Node's fetch in a child process there; resolves with the status and body.
 */
export const fetchIn = async (
  place: Place,
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> => {
  const script =
    "fetch(process.argv[1], { headers: JSON.parse(process.argv[2]) })" +
    ".then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })))" +
    ".catch((e) => { process.stderr.write(String(e)); process.exit(1); })";
  const [command, args] = place.wrap(process.execPath, ["-e", script, url, JSON.stringify(headers)]);
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 15_000 }, (error, stdout, stderr) =>
      error
        ? reject(new Error(`GET ${url} failed: ${stderr || error.message}`))
        : resolve(JSON.parse(stdout)),
    );
  });
};
