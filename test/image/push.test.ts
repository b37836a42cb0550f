/**
 * The README's push command, as written, against a registry on loopback
 * (Debian's docker-registry, filesystem storage): the same image arrives, and
 * podman pulls and runs it from there as a cluster's nodes would.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEBIAN } from "../registry/support/builds.js";
import { type RunningRegistry, registryEnv, startRegistry } from "../registry/support/registry.js";
import { tempDir } from "../support/tmp.js";
import { type BuiltImage, cliVersion, LIMITS, podman, REPO, skopeo, theImage } from "./support/image.js";

/** The push command the README documents, one line. */
const documented = (): string[] => {
  const line = readFileSync(join(REPO, "README.md"), "utf8")
    .split("\n")
    .find((l) => /^skopeo copy oci-archive:\S+ docker:\/\/\S+$/.test(l));
  if (!line) throw new Error("README.md documents no `skopeo copy oci-archive:… docker://…` push");
  return line.split(" ");
};

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

let image: BuiltImage;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let registry: RunningRegistry;
let pulled: string | undefined;

beforeAll(async () => {
  image = await theImage();
  tmp = await tempDir("credbridge-image-push-");
  registry = await startRegistry({
    build: DEBIAN,
    configFile: tmp.path("config.yml"),
    // The registry's filesystem driver: what is checked here is the push, not S3.
    config: {
      version: 0.1,
      storage: { filesystem: { rootdirectory: tmp.path("storage") } },
      http: { addr: `127.0.0.1:${await freePort()}` },
    } as unknown as Parameters<typeof startRegistry>[0]["config"],
    env: registryEnv(tmp.dir),
  });
}, 900_000);

afterAll(async () => {
  if (pulled) await podman(["rmi", pulled]).catch(() => undefined);
  await registry?.stop();
  await tmp?.cleanup();
});

describe("pushing the image as the README says", () => {
  it("puts the same image in the registry, which podman then pulls and runs", async () => {
    const argv = documented();
    expect(argv.slice(0, 3)).toEqual(["skopeo", "copy", "oci-archive:dist/image/credbridge.oci.tar"]);
    const target = new URL(argv[3]!.replace(/^docker:\/\//, "https://"));
    const reference = `${registry.address}${target.pathname}`;
    // The archive this run built, to the test registry over plain http: the only changes to the command.
    await skopeo([
      "copy",
      "--dest-tls-verify=false",
      `oci-archive:${image.archive}`,
      `docker://${reference}`,
    ]);
    const [stored] = JSON.parse((await podman(["image", "inspect", image.image])).stdout) as { Id: string }[];
    const manifest = JSON.parse(
      (await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${reference}`])).stdout,
    ) as { config: { digest: string } };
    expect(manifest.config.digest).toBe(`sha256:${stored!.Id}`);
    expect(reference.endsWith(`:${cliVersion()}`)).toBe(true);
    pulled = reference;
    const run = await podman([
      "run",
      "--rm",
      "--tls-verify=false",
      ...LIMITS,
      "--network",
      "none",
      reference,
      "--version",
    ]);
    expect(run.stdout.trim()).toBe(cliVersion());
  });
});
