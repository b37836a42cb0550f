import { createHash } from "node:crypto";
import {
  type S3Front,
  type StartStsEmulatorOptions,
  type StsEmulator,
  startMotoServer,
  startS3Front,
  startStsEmulator,
} from "@credbridge/emulators";

export const BUCKET = "harbor-registry";

/**
 * What the registry's storage lives on: moto_server holding the objects, the
 * STS emulator issuing sessions, and the S3 front in between that refuses any
 * request not signed with a live session STS issued.
 */
export interface S3World {
  sts: StsEmulator;
  front: S3Front;
  motoUrl: string;
  /** Keys of the bucket's objects, straight from moto (not through the front). */
  listKeys(prefix?: string): Promise<string[]>;
  /** An object's bytes, straight from moto. */
  getObject(key: string): Promise<Buffer>;
  close(): Promise<void>;
}

/**
 * moto checks no signature but refuses anonymous object reads: reads that go
 * straight to moto (around the front) carry this placeholder.
 */
const MOTO_READ = {
  authorization:
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20300101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
};

const keysOf = (xml: string): string[] => [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!);

export const startS3World = async (stsOptions: StartStsEmulatorOptions = {}): Promise<S3World> => {
  let unavailable = "";
  const moto = await startMotoServer({
    logger: {
      warn: (message) => {
        unavailable = message;
      },
    },
  });
  if (!moto) throw new Error(`the registry tests need moto_server: ${unavailable}`);
  const sts = await startStsEmulator(stsOptions);
  const front = await startS3Front({
    upstream: moto.url,
    sessions: sts.session,
    ...(stsOptions.now ? { now: stsOptions.now } : {}),
  });
  const created = await fetch(`${moto.url}/${BUCKET}`, { method: "PUT" });
  if (!created.ok) throw new Error(`creating bucket ${BUCKET} in moto failed: ${created.status}`);
  await created.arrayBuffer();

  const listKeys = async (prefix = "") => {
    const keys: string[] = [];
    let marker = "";
    for (;;) {
      const url = `${moto.url}/${BUCKET}?prefix=${encodeURIComponent(prefix)}&marker=${encodeURIComponent(marker)}`;
      const xml = await (await fetch(url, { headers: MOTO_READ })).text();
      const page = keysOf(xml);
      keys.push(...page);
      if (!xml.includes("<IsTruncated>true</IsTruncated>") || page.length === 0) return keys;
      marker = page.at(-1)!;
    }
  };
  return {
    sts,
    front,
    motoUrl: moto.url,
    listKeys,
    getObject: async (key) => {
      const response = await fetch(`${moto.url}/${BUCKET}/${key}`, { headers: MOTO_READ });
      if (!response.ok) throw new Error(`GET ${key} from moto: ${response.status}`);
      return Buffer.from(await response.arrayBuffer());
    },
    close: async () => {
      await front.close();
      await sts.close();
      await moto.close();
    },
  };
};

/** Where distribution keeps a blob's bytes: `docker/registry/v2/blobs/sha256/ab/<hex>/data`. */
const BLOB_DATA = /^docker\/registry\/v2\/blobs\/sha256\/[0-9a-f]{2}\/([0-9a-f]{64})\/data$/;

/**
 * Every completed blob in the bucket, with whether its bytes hash to its name:
 * a partial upload must never be found under a blob's final path.
 */
export const completedBlobs = async (world: S3World): Promise<{ digest: string; intact: boolean }[]> => {
  const blobs: { digest: string; intact: boolean }[] = [];
  for (const key of await world.listKeys("docker/registry/v2/blobs/")) {
    const hex = BLOB_DATA.exec(key)?.[1];
    if (hex === undefined) continue;
    const data = await world.getObject(key);
    blobs.push({ digest: `sha256:${hex}`, intact: createHash("sha256").update(data).digest("hex") === hex });
  }
  return blobs;
};
