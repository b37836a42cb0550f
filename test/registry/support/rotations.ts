import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { S3FrontRequest } from "@credbridge/emulators";
import type { Place } from "../../support/place.js";
import { makeOciImage } from "./oci-image.js";
import { completedBlobs, type S3World } from "./s3-world.js";
import { pull, push } from "./skopeo.js";

/**
 * Session lifetime the emulators force in the rotation tests, and the margin
 * credbridge keeps (`--min-remaining`): credbridge refreshes about halfway
 * through the usable life, so the registry's copy of a session outlives a
 * credbridge refresh and expires under load.
 */
export const SESSION_SECONDS = 8;
export const MIN_REMAINING_SECONDS = 2;

/** What one path did across rotations: the figures the README's table shows. */
export interface RotationReport {
  path: string;
  /** The registry build (`RegistryBuild.name`). */
  build: string;
  pushes: number;
  failedPushes: number;
  pulls: number;
  failedPulls: number;
  /** Pulled manifests whose digest differed from the pushed one. */
  digestMismatches: number;
  /** Requests the S3 front accepted and forwarded. */
  acceptedRequests: number;
  /** Requests the S3 front refused, by S3 error code. */
  refused: Record<string, number>;
  /** Each refused request: its method, and when it arrived after its session's expiration, ms. */
  refusals: { method: string; afterExpiryMs: number | null }[];
  /** How the registry signed its payloads, by kind (`sha256`, `unsigned`, `streaming`…). */
  payloads: Record<string, number>;
  /** The registry's S3 requests by HTTP method: HEAD answers carry no error code to react to. */
  methods: Record<string, number>;
  /** Distinct access keys that signed accepted requests: rotations + 1. */
  signingKeys: number;
  /**
   * For each session the registry moved on from: how long before that
   * session's expiration its last accepted request came, ms. An SDK with no
   * expiry window keeps a session until it expires (or is refused), whatever
   * credbridge serves meanwhile: these stay near 0.
   */
  lastUseBeforeExpiryMs: number[];
  /** Longest time from a refusal to the next accepted request, ms; 0 when nothing was refused. */
  maxRecoveryMs: number;
  /** Blobs (layers, configs, manifests) of successful pushes not found intact in moto's bucket. */
  missingBlobs: number;
  /** Objects under a completed blob's path whose bytes do not hash to its name. */
  partialBlobs: number;
  /** Whether the last push and pull succeeded in the same registry process. */
  recoveredWithoutRestart: boolean;
  wallMs: number;
  /** skopeo's stderr of failed copies, for the test's message. */
  failures: string[];
}

export const summarise = (
  path: string,
  build: string,
  requests: readonly S3FrontRequest[],
  ops: { kind: "push" | "pull"; ok: boolean; stderr: string; digestOk: boolean }[],
  bucket: { missingBlobs: number; partialBlobs: number },
  wallMs: number,
  /** A session's expiration (ms since the epoch), by access key. */
  expirationOf: (accessKeyId: string) => number | undefined = () => undefined,
): RotationReport => {
  const accepted = requests.filter((r) => r.forwarded);
  const refusedList = requests.filter((r) => !r.forwarded && r.code !== undefined);
  const refused: Record<string, number> = {};
  for (const r of refusedList) refused[r.code!] = (refused[r.code!] ?? 0) + 1;
  const payloads: Record<string, number> = {};
  const methods: Record<string, number> = {};
  for (const r of requests) {
    payloads[r.payload] = (payloads[r.payload] ?? 0) + 1;
    methods[r.method] = (methods[r.method] ?? 0) + 1;
  }
  let maxRecoveryMs = 0;
  for (const r of refusedList) {
    const next = accepted.find((a) => a.at >= r.at);
    maxRecoveryMs = Math.max(maxRecoveryMs, next === undefined ? Number.POSITIVE_INFINITY : next.at - r.at);
  }
  const lastUse = new Map<string, number>();
  for (const r of accepted) lastUse.set(r.accessKeyId!, r.at);
  const lastUseBeforeExpiryMs = [...lastUse].slice(0, -1).flatMap(([key, at]) => {
    const expiration = expirationOf(key);
    return expiration === undefined ? [] : [expiration - at];
  });
  const pushes = ops.filter((o) => o.kind === "push");
  const pulls = ops.filter((o) => o.kind === "pull");
  const last = ops.slice(-2);
  return {
    path,
    build,
    pushes: pushes.length,
    failedPushes: pushes.filter((o) => !o.ok).length,
    pulls: pulls.length,
    failedPulls: pulls.filter((o) => !o.ok).length,
    digestMismatches: pulls.filter((o) => o.ok && !o.digestOk).length,
    acceptedRequests: accepted.length,
    refused,
    refusals: refusedList.map((r) => {
      const expiration = expirationOf(r.accessKeyId ?? "");
      return { method: r.method, afterExpiryMs: expiration === undefined ? null : r.at - expiration };
    }),
    payloads,
    methods,
    signingKeys: lastUse.size,
    lastUseBeforeExpiryMs,
    maxRecoveryMs,
    ...bucket,
    recoveredWithoutRestart: last.length === 2 && last.every((o) => o.ok),
    wallMs,
    failures: ops.filter((o) => !o.ok).map((o) => `${o.kind}: ${o.stderr.trim()}`),
  };
};

/**
 * Pushes a fresh small image and pulls it back, again and again, until the
 * registry's requests have been signed by `keys` different sessions (or
 * `maxMs` passed), then reports. One registry process throughout: a path that
 * needs a restart shows up as failed copies at the end.
 */
export const pushPullAcrossRotations = async (options: {
  path: string;
  build: string;
  world: S3World;
  registry: string;
  workDir: string;
  place?: Place;
  keys?: number;
  maxMs?: number;
}): Promise<RotationReport> => {
  const wanted = options.keys ?? 3;
  const maxMs = options.maxMs ?? (SESSION_SECONDS * (wanted + 1) + 10) * 1000;
  const started = Date.now();
  const ops: { kind: "push" | "pull"; ok: boolean; stderr: string; digestOk: boolean }[] = [];
  const requests = options.world.front.requests;
  const pushed: string[] = [];
  const keysSoFar = () => new Set(requests.filter((r) => r.forwarded).map((r) => r.accessKeyId)).size;
  // A path that keeps failing stops the loop early: its failures are the result.
  const failingInARow = () => ops.slice(-4).filter((o) => !o.ok).length;
  for (let i = 0; keysSoFar() < wanted && Date.now() - started < maxMs && failingInARow() < 4; i++) {
    const image = await makeOciImage(join(options.workDir, `in-${i}`), { layers: 2, layerBytes: 2048 });
    const ref = `${options.registry}/rotation/app:r${i}`;
    const pushedOk = await push(image.ref, ref, options.place);
    ops.push({ kind: "push", ok: pushedOk.ok, stderr: pushedOk.stderr, digestOk: true });
    if (pushedOk.ok) pushed.push(image.manifestDigest, ...image.blobDigests);
    const outDir = join(options.workDir, `out-${i}`);
    const pulled = await pull(ref, `oci:${outDir}:r${i}`, options.place);
    const digestOk =
      pulled.ok &&
      JSON.parse(await readFile(join(outDir, "index.json"), "utf8")).manifests[0].digest ===
        image.manifestDigest;
    ops.push({ kind: "pull", ok: pulled.ok, stderr: pulled.stderr, digestOk });
  }
  const wallMs = Date.now() - started;
  const blobs = await completedBlobs(options.world);
  const intact = new Set(blobs.filter((b) => b.intact).map((b) => b.digest));
  const bucket = {
    missingBlobs: pushed.filter((d) => !intact.has(d)).length,
    partialBlobs: blobs.filter((b) => !b.intact).length,
  };
  const report = summarise(options.path, options.build, requests, ops, bucket, wallMs, (key) =>
    options.world.sts.session(key)?.expiration.getTime(),
  );
  // The figures for the README, one JSON line per path in the test output.
  console.log(`registry-rotation ${JSON.stringify(report)}`);
  return report;
};
