import { chown, mkdir } from "node:fs/promises";
import { createNetworkNamespace, IMDS_ADDRESS } from "../../support/netns.js";
import { HERE } from "../../support/place.js";
import { startFileSidecar, startImdsSidecar } from "./sidecars.js";
import type { Stage } from "./stage.js";
import { REGISTRY_USER, systemUser } from "./users.js";

/**
 * The credentials-file path as the irsa example lays it out: the registry's
 * user owns ~/.aws; credbridge (root here, like any sidecar with its own uid)
 * keeps ~/.aws/credentials fresh and chowns it to that user. The registry
 * runs as that user with nothing but HOME, here, and reaches S3 directly.
 */
export const fileStage = async ({ world, tmp, defer }: Stage) => {
  const user = await systemUser(REGISTRY_USER);
  const home = tmp.path("home");
  await mkdir(tmp.path("home", ".aws"), { recursive: true, mode: 0o700 });
  await chown(home, user.uid, user.gid);
  await chown(tmp.path("home", ".aws"), user.uid, user.gid);
  const credentialsFile = tmp.path("home", ".aws", "credentials");
  const sidecar = await startFileSidecar({
    stsUrl: world.sts.url,
    credentialsFile,
    dir: tmp.dir,
    fileOwner: `${user.uid}:${user.gid}`,
  });
  defer(() => sidecar.stop());
  return { sidecar, credentialsFile, home, user, place: HERE, s3: world.front.url };
};

/**
 * The IMDS path as the imds example lays it out, in a network namespace (the
 * pod's): 169.254.169.254/32 on its loopback (unless `imdsAddress` is false),
 * credbridge serving IMDS there on port 80 (or at `imds`), STS and the S3 front
 * bridged in on 127.0.0.1. Fails the test, with the reason, when the namespace
 * cannot be made.
 */
export const imdsStage = async (
  { world, tmp, defer }: Stage,
  options: { imdsAddress?: boolean; imds?: string; v2Only?: boolean } = {},
) => {
  const netns = await createNetworkNamespace({ imdsAddress: options.imdsAddress !== false });
  defer(() => netns.close());
  const stsInside = await netns.expose(18080, world.sts.url, tmp.dir);
  const s3 = await netns.expose(18081, world.front.url, tmp.dir);
  const sidecar = await startImdsSidecar({
    stsUrl: stsInside,
    imds: options.imds ?? `${IMDS_ADDRESS}:80`,
    dir: tmp.dir,
    wrap: netns.wrap,
    v2Only: options.v2Only === true,
  });
  defer(() => sidecar.cli.stop());
  const home = tmp.path("home");
  await mkdir(home, { mode: 0o755 });
  return { sidecar, home, place: netns, netns, s3 };
};
