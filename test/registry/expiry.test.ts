import { chown, mkdir, readFile } from "node:fs/promises";
import { expect, it } from "vitest";
import { createNetworkNamespace, IMDS_ADDRESS } from "../support/netns.js";
import { fetchIn, HERE, type Place } from "../support/place.js";
import { REGISTRY_BUILDS } from "./support/builds.js";
import { makeOciImage } from "./support/oci-image.js";
import { registryConfigFromExample, registryEnv, startRegistry } from "./support/registry.js";
import { startFileSidecar, startImdsSidecar } from "./support/sidecars.js";
import { push } from "./support/skopeo.js";
import { expectSignedByBuild, REGISTRY_TEST_TIMEOUT_MS, setStage } from "./support/stage.js";
import { REGISTRY_USER, systemUser } from "./support/users.js";

/**
 * The first session's lifetime: shorter than aws-sdk-go's 5-minute window of
 * its default chain (so an SDK with that window would drop it at once), long
 * enough that credbridge's own schedule (refresh from about halfway) does not
 * act during the test. The session after the rotation lasts an hour.
 */
const FIRST_SESSION_SECONDS = 240;

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
    let skewMs = 0;
    const { world, tmp, defer } = await setStage(ctx, "expiry", {
      lifetimeSeconds: FIRST_SESSION_SECONDS,
      now: () => Date.now() + skewMs,
    });
    const home = tmp.path("home");
    await mkdir(tmp.path("home", ".aws"), { recursive: true, mode: 0o700 });
    let place: Place = HERE;
    let rotate: () => Promise<void>;
    /** What credbridge serves now: the access key in the file, or from IMDS. */
    let servedKey: () => Promise<string>;
    let imdsReads = async () => 0;
    let s3 = world.front.url;
    let uid: { uid: number; gid: number } | undefined;
    if (path === "credentials file") {
      uid = await systemUser(REGISTRY_USER);
      await chown(home, uid.uid, uid.gid);
      await chown(tmp.path("home", ".aws"), uid.uid, uid.gid);
      const credentialsFile = tmp.path("home", ".aws", "credentials");
      const sidecar = await startFileSidecar({
        stsUrl: world.sts.url,
        credentialsFile,
        dir: tmp.dir,
        fileOwner: `${uid.uid}:${uid.gid}`,
      });
      defer(() => sidecar.stop());
      const writes = () =>
        sidecar.lines.filter((l) => l.includes(`${credentialsFile} [default] updated`)).length;
      rotate = async () => {
        const before = writes();
        sidecar.child.kill("SIGHUP");
        await expect.poll(writes, { timeout: 10_000 }).toBeGreaterThan(before);
      };
      servedKey = async () =>
        /aws_access_key_id\s*=\s*(\S+)/.exec(await readFile(credentialsFile, "utf8"))?.[1] ?? "";
    } else {
      const netns = await createNetworkNamespace();
      defer(() => netns.close());
      place = netns;
      const stsInside = await netns.expose(18080, world.sts.url, tmp.dir);
      s3 = await netns.expose(18081, world.front.url, tmp.dir);
      const sidecar = await startImdsSidecar({
        stsUrl: stsInside,
        imds: `${IMDS_ADDRESS}:80`,
        dir: tmp.dir,
        wrap: netns.wrap,
      });
      defer(() => sidecar.cli.stop());
      rotate = async () => {
        sidecar.cli.child.kill("SIGHUP");
        await sidecar.cli.waitFor((l) => l.msg === "credentials refreshed" && l.reason === "forced");
      };
      const base = `${sidecar.url}/latest/meta-data/iam/security-credentials/`;
      servedKey = async () => {
        const role = (await fetchIn(netns, base)).body.trim();
        return JSON.parse((await fetchIn(netns, `${base}${role}`)).body).AccessKeyId;
      };
      imdsReads = async () =>
        (await sidecar.imdsRequests())
          .filter((r) => r.path.endsWith("{role}") && r.status === 200)
          .reduce((n, r) => n + r.n, 0);
    }
    const registry = await startRegistry({
      build,
      configFile: tmp.path("config.yml"),
      config: await registryConfigFromExample(
        path === "credentials file" ? "irsa" : "imds",
        s3,
        path === "credentials file" ? "127.0.0.1:0" : "127.0.0.1:5000",
      ),
      env: registryEnv(home),
      place,
      ...(uid === undefined ? {} : { uid: uid.uid, gid: uid.gid }),
    });
    defer(() => registry.stop());
    const requests = world.front.requests;
    const round = async (tag: string) => {
      const from = requests.length;
      const image = await makeOciImage(tmp.path(tag));
      const pushed = await push(image.ref, `${registry.address}/expiry/app:${tag}`, place);
      expect(pushed, registry.log().slice(-2000)).toMatchObject({ ok: true, stderr: "" });
      return requests.slice(from);
    };
    const keys = (list: typeof requests) => [
      ...new Set(list.filter((r) => r.forwarded).map((r) => r.accessKeyId)),
    ];

    const [first] = keys(await round("first"));
    const sessionA = world.sts.session(first!)!;
    expect(sessionA.expiration.getTime() - Date.now()).toBeGreaterThan(200_000);

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
    if (path !== "credentials file") expect(await imdsReads()).toBe(readsBefore + 1);
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
