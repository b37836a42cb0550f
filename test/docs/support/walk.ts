import { execFile } from "node:child_process";
import { chmod, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CLI } from "../../support/cli.js";

const run = promisify(execFile);
const REPO = fileURLToPath(new URL("../../../", import.meta.url));
/** Debian's AWS CLI (2.9): too old for AWS_ENDPOINT_URL, so the stand-in names moto on each call. */
const AWS = "/usr/bin/aws";

/** One command a stand-in recorded: which tool, and its arguments as the shell passed them. */
export interface Recorded {
  tool: string;
  args: string[];
}

/** Who `kubectl exec … -- credbridge …` runs as, and with what environment: the sidecar's. */
export interface PodProcess {
  setpriv: string[];
  env: Record<string, string>;
}

/**
 * A shell in which the README's commands run verbatim: `credbridge` is this
 * checkout's CLI; `aws` is Debian's AWS CLI talking to moto, except for what
 * moto cannot do (`eks create-pod-identity-association`: recorded); `eksctl`,
 * `helm` and `kubectl` are stand-ins that record their arguments (there is no
 * cluster), and `kubectl exec … -- credbridge …` runs that command as the
 * sidecar would (see `PodProcess`). The working directory links `examples/`
 * to the checkout's, as the README's "run the steps from the clone's root" has it.
 */
export const walkShell = async (dir: string, motoUrl: string) => {
  const bin = join(dir, "bin");
  const work = join(dir, "work");
  const log = join(dir, "calls.jsonl");
  const podFile = join(dir, "pod.json");
  await mkdir(bin, { recursive: true });
  await mkdir(work, { recursive: true });
  await symlink(join(REPO, "examples"), join(work, "examples"));
  await writeFile(log, "");

  const node = process.execPath;
  const recorder = (tool: string, body: string) =>
    `#!${node}
const { appendFileSync, readFileSync } = require("node:fs");
const { spawnSync } = require("node:child_process");
const args = process.argv.slice(2);
appendFileSync(${JSON.stringify(log)}, JSON.stringify({ tool: ${JSON.stringify(tool)}, args }) + "\\n");
${body}
`;
  const tools: Record<string, string> = {
    credbridge: `#!/bin/sh\nexec ${JSON.stringify(node)} ${JSON.stringify(CLI)} "$@"\n`,
    aws: recorder(
      "aws",
      `if (args[0] === "eks" && args[1] === "create-pod-identity-association") process.exit(0);
const r = spawnSync(${JSON.stringify(AWS)}, ["--endpoint-url", ${JSON.stringify(motoUrl)}, ...args], { stdio: "inherit" });
process.exit(r.status ?? 1);`,
    ),
    eksctl: recorder("eksctl", ""),
    helm: recorder("helm", ""),
    kubectl: recorder(
      "kubectl",
      `const dash = args.indexOf("--");
if (args.includes("exec") && dash !== -1) {
  const [command, ...rest] = args.slice(dash + 1);
  if (command !== "credbridge") { console.error("kubectl (walk): the sidecar's image runs only credbridge"); process.exit(126); }
  const pod = JSON.parse(readFileSync(${JSON.stringify(podFile)}, "utf8"));
  const r = spawnSync("setpriv", [...pod.setpriv, ${JSON.stringify(node)}, ${JSON.stringify(CLI)}, ...rest], { env: pod.env, cwd: "/", stdio: "inherit" });
  process.exit(r.status ?? 1);
}`,
    ),
  };
  for (const [name, text] of Object.entries(tools)) {
    await writeFile(join(bin, name), text);
    await chmod(join(bin, name), 0o755);
  }

  return {
    work,
    /** Lets `kubectl exec` into the pod run as this process. */
    setPod: (pod: PodProcess) => writeFile(podFile, JSON.stringify(pod)),
    /** The commands recorded so far, in order. */
    recorded: async (): Promise<Recorded[]> =>
      (await readFile(log, "utf8"))
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Recorded),
    /**
     * Runs `script` with `sh -eu`, every variable exported (`set -a`) so that
     * the shell's variables come back, parsed, with its output.
     */
    sh: async (script: string, region: string) => {
      const varsFile = join(dir, "vars");
      const { stdout, stderr } = await run("sh", ["-euc", `set -a\n${script}\nenv -0 > '${varsFile}'`], {
        cwd: work,
        env: {
          PATH: `${bin}:/usr/bin:/bin`,
          HOME: work,
          LANG: "C.UTF-8",
          // moto takes any keys; the region is the README's, for the AWS CLI's own default.
          AWS_ACCESS_KEY_ID: "walk",
          AWS_SECRET_ACCESS_KEY: "walk",
          AWS_DEFAULT_REGION: region,
        },
        maxBuffer: 16 * 1024 * 1024,
      }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(
          `the README's commands failed: ${error.message}\n${error.stdout ?? ""}\n${error.stderr ?? ""}`,
        );
      });
      const vars = Object.fromEntries(
        (await readFile(varsFile, "utf8"))
          .split("\0")
          .filter(Boolean)
          .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
      ) as Record<string, string>;
      return { stdout, stderr, vars };
    },
  };
};
