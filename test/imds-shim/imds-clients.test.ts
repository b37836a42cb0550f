import { refreshing } from "@credbridge/core";
import { createImdsServer, type ImdsServer, type RequestInfo } from "@credbridge/imds-shim";
import type { AwsCredentialIdentity } from "@smithy/types";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  botocoreClient,
  type ClientProcess,
  isolatedEnv,
  KEYS,
  nodeClient,
  rotatingProvider,
} from "./harness.js";

// Real SDK clients, each in its own long-running process, against the IMDS shim
// on loopback. The server runs IMDSv2-only (requireToken), so a client that
// silently fell back to IMDSv1 would fail: each proves it speaks v2. Each gets
// key A, then, after the provider rotates and the engine refreshes, key B from
// the SDK's own refresh path in the same process.

let server: ImdsServer;
let url: string;
let rotate: (keys: AwsCredentialIdentity) => void;
let engine: ReturnType<typeof refreshing>;
let env: Awaited<ReturnType<typeof isolatedEnv>>;
const clients: ClientProcess[] = [];
let seen: RequestInfo[];

beforeEach(async () => {
  const source = rotatingProvider(KEYS("imdsa"));
  rotate = source.rotate;
  engine = refreshing(source.provider, {
    minRemainingSeconds: 900,
    mandatoryWindowSeconds: 960,
    advisoryWindowSeconds: 1200,
    name: "imds-clients",
  });
  server = createImdsServer({
    provider: engine,
    roleArn: "arn:aws:iam::123456789012:role/legacy-app",
    region: "eu-west-1",
    requireToken: true,
    onRequest: (info) => seen.push(info),
  });
  seen = [];
  ({ url } = await server.listen());
  env = await isolatedEnv();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  // Every client fetched a session token and read the credentials with it; none was refused.
  const routes = seen.map((i) => `${i.method} ${i.path} ${i.status}`);
  expect(routes).toContain("PUT /latest/api/token 200");
  expect(routes).toContain("GET /latest/meta-data/iam/security-credentials/{role} 200");
  expect(seen.filter((i) => i.status >= 400)).toEqual([]);
  await server.close();
  await env.cleanup();
});

const rotateAndRefresh = async () => {
  rotate(KEYS("imdsb"));
  await engine.refresh();
};

const expectKeys = (
  got: { accessKeyId: string; secretAccessKey: string; sessionToken: string | null },
  name: string,
) => {
  const keys = KEYS(name);
  expect(got.accessKeyId).toBe(keys.accessKeyId);
  expect(got.secretAccessKey).toBe(keys.secretAccessKey);
  expect(got.sessionToken).toBe(keys.sessionToken);
};

/** The served expiration is an hour out, not stretched by the client and never under 15 minutes. */
const expectHourLeft = (expiration: string | null) => {
  expect(expiration).not.toBeNull();
  const left = new Date(expiration as string).getTime() - Date.now();
  expect(left).toBeGreaterThan(3_500_000);
  expect(left).toBeLessThanOrEqual(3_600_000);
};

describe("IMDS shim with real clients (IMDSv2 only)", () => {
  it("@smithy/credential-provider-imds fromInstanceMetadata: one provider instance, called again after rotation", async () => {
    const client = nodeClient(
      `const { fromInstanceMetadata } = require("@smithy/credential-provider-imds");
       const provider = fromInstanceMetadata({ timeout: 1000, maxRetries: 0 });
       const get = () => provider();
       const refresh = () => provider();`,
      { ...env.base, AWS_EC2_METADATA_SERVICE_ENDPOINT: url, AWS_EC2_METADATA_V1_DISABLED: "true" },
    );
    clients.push(client);
    const first = await client.ask("get");
    expectKeys(first, "imdsa");
    expectHourLeft(first.expiration);
    await rotateAndRefresh();
    expectKeys(await client.ask("refresh"), "imdsb");
  });

  it("aws-sdk v2 EC2MetadataCredentials: getPromise, then refreshPromise on the same object", async () => {
    const client = nodeClient(
      `const AWS = require("aws-sdk");
       const creds = new AWS.EC2MetadataCredentials({ httpOptions: { timeout: 1000 }, maxRetries: 0 });
       const get = async () => { await creds.getPromise(); return creds; };
       const refresh = async () => { await creds.refreshPromise(); return creds; };`,
      { ...env.base, AWS_EC2_METADATA_SERVICE_ENDPOINT: url, AWS_EC2_METADATA_V1_DISABLED: "true" },
    );
    clients.push(client);
    const first = await client.ask("get");
    expectKeys(first, "imdsa");
    expectHourLeft(first.expiration);
    await rotateAndRefresh();
    expectKeys(await client.ask("refresh"), "imdsb");
  });

  it("botocore (python3-botocore) default chain → InstanceMetadataProvider, refreshed in place", async () => {
    const client = botocoreClient({
      ...env.base,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: `${url}/`,
      AWS_EC2_METADATA_V1_DISABLED: "true",
    });
    clients.push(client);
    const first = await client.ask("get");
    expect(first.method).toBe("iam-role");
    expectKeys(first, "imdsa");
    // botocore stretches IMDS credentials that expire within 12–20 minutes; an hour is served, so none is.
    expectHourLeft(first.expiration);
    await rotateAndRefresh();
    const second = await client.ask("refresh");
    expect(second.method).toBe("iam-role");
    expectKeys(second, "imdsb");
  });
});
