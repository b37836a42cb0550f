import { readFile } from "node:fs/promises";
import { it } from "vitest";
import { fetchIn } from "../support/place.js";
import { REGISTRY_BUILDS } from "./support/builds.js";
import { makeOciImage } from "./support/oci-image.js";
import { fileStage, imdsStage } from "./support/paths.js";
import { registryConfigFromExample, registryEnv, startRegistry } from "./support/registry.js";
import { push } from "./support/skopeo.js";
import { expectSignedByBuild, REGISTRY_TEST_TIMEOUT_MS, setStage } from "./support/stage.js";

/**
 * The first session's lifetime: shorter than aws-sdk-go's 5-minute window of
 * its default chain (so an SDK with that window would drop it at once), long
 * enough that credbridge's own schedule (refresh from about halfway) does not
 * act during the test. The session after the rotation lasts an hour.
 */
const FIRST_SESSION_SECONDS = 290;

const PATHS = ["credentials file", "IMDS (netns, 169.254.169.254:80)"] as const;
const CASES = REGISTRY_BUILDS.flatMap((build) =>
  PATHS.map((path) => ({ name: `${build.name}, ${path}`, build, path })),
);

// What the driver's providers do with a session credbridge has already
// replaced. Neither asks early: the file provider re-reads only once an
// ExpiredToken answer made the SDK Expire() its credentials, and the EC2 role
// provider has no expiry window (registry/storage/driver/s3-aws/s3.go builds
// it without one). Then the clock-skew case: AWS's clock runs ahead of the
// registry's, so S3 calls the session expired while the registry's own clock
// says it has minutes left. aws-sdk-go v1 never corrects for skew; what saves
// the request is the ExpiredToken retry, which makes it ask again (file or
// IMDS) and get credbridge's newer session.
it.concurrent.for(CASES)(
  "$build.name, $path: keeps the replaced session until S3 refuses it; when AWS's clock is ahead, one ExpiredToken, retried with credbridge's new session",
  { timeout: REGISTRY_TEST_TIMEOUT_MS },
  async ({ build, path }, ctx) => {
    // Concurrent cases: each asserts (and polls) through its own test's expect.
    const { expect } = ctx;
    let skewMs = 0;
    const stage = await setStage(ctx, "expiry", {
      lifetimeSeconds: FIRST_SESSION_SECONDS,
      now: () => Date.now() + skewMs,
    });
    const { world, tmp, defer } = stage;
    const onFile = path === "credentials file";
    const setUp = onFile ? await fileStage(stage) : await imdsStage(stage);
    const cli = "cli" in setUp.sidecar ? setUp.sidecar.cli : setUp.sidecar;
    /** The access key credbridge serves now: in the file, or from IMDS. */
    const servedKey = async (): Promise<string> => {
      if ("credentialsFile" in setUp) {
        return /aws_access_key_id\s*=\s*(\S+)/.exec(await readFile(setUp.credentialsFile, "utf8"))?.[1] ?? "";
      }
      const base = `${setUp.sidecar.url}/latest/meta-data/iam/security-credentials/`;
      const role = (await fetchIn(setUp.netns, base)).body.trim();
      return JSON.parse((await fetchIn(setUp.netns, `${base}${role}`)).body).AccessKeyId;
    };
    /** credbridge fetches a new session now (SIGHUP) and serves it: in the file, or from IMDS. */
    const rotate = async () => {
      const before = world.sts.issued.length;
      cli.child.kill("SIGHUP");
      await expect
        .poll(
          async () =>
            world.sts.issued.length > before && (await servedKey()) === world.sts.issued.at(-1)!.accessKeyId,
          { timeout: 10_000 },
        )
        .toBe(true);
    };
    /** Credential reads credbridge's IMDS answered (0 on the file path). */
    const imdsReads = async (): Promise<number> =>
      "imdsRequests" in setUp.sidecar
        ? (await setUp.sidecar.imdsRequests())
            .filter((r) => r.path.endsWith("{role}") && r.status === 200)
            .reduce((n, r) => n + r.n, 0)
        : 0;
    const registry = await startRegistry({
      build,
      configFile: tmp.path("config.yml"),
      config: await registryConfigFromExample(
        onFile ? "irsa" : "imds",
        setUp.s3,
        onFile ? "127.0.0.1:0" : "127.0.0.1:5000",
      ),
      env: registryEnv(setUp.home),
      place: setUp.place,
      ...("user" in setUp ? { uid: setUp.user.uid, gid: setUp.user.gid } : {}),
    });
    defer(() => registry.stop());
    const requests = world.front.requests;
    const round = async (tag: string) => {
      const from = requests.length;
      const image = await makeOciImage(tmp.path(tag));
      const pushed = await push(image.ref, `${registry.address}/expiry/app:${tag}`, setUp.place);
      expect(pushed, registry.log().slice(-2000)).toMatchObject({ ok: true, stderr: "" });
      return requests.slice(from);
    };
    const keys = (list: typeof requests) => [
      ...new Set(list.filter((r) => r.forwarded).map((r) => r.accessKeyId)),
    ];

    const [first] = keys(await round("first"));
    const sessionA = world.sts.session(first!)!;
    // Room left for the rotation and the "kept" round (a loaded machine took 70 s for the first push).
    expect(sessionA.expiration.getTime() - Date.now()).toBeGreaterThan(120_000);

    // credbridge moves to a new, one-hour session; the registry does not look.
    world.sts.setLifetimeSeconds(3600);
    await rotate();
    const sessionB = world.sts.issued.at(-1)!;
    expect(await servedKey()).toBe(sessionB.accessKeyId);
    const readsBefore = await imdsReads();
    expect(keys(await round("kept"))).toEqual([sessionA.accessKeyId]);
    expect(await imdsReads()).toBe(readsBefore);

    // AWS's clock jumps past the first session's end: S3 now calls it expired, the registry does not.
    skewMs = sessionA.expiration.getTime() - Date.now() + 1_000;
    const skewed = await round("skewed");
    const refused = skewed.filter((r) => !r.forwarded);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => r.code === "ExpiredToken" && r.accessKeyId === sessionA.accessKeyId)).toBe(
      true,
    );
    expect(keys(skewed)).toEqual([sessionB.accessKeyId]);
    const firstAccepted = skewed.find((r) => r.forwarded)!;
    if (!onFile) expect(await imdsReads()).toBe(readsBefore + 1);
    expectSignedByBuild(world, build);
    console.log(
      `registry-skew ${JSON.stringify({
        build: build.name,
        path,
        refused: refused.length,
        recoveryMs: firstAccepted.at - refused[0]!.at,
      })}`,
    );
  },
);
