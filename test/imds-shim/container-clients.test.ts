import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fromHttp } from "@aws-sdk/credential-provider-http";
import { refreshing } from "@credbridge/core";
import {
  type ContainerCredentialsServer,
  createContainerCredentialsServer,
  type RequestInfo,
} from "@credbridge/imds-shim";
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

// Real SDK container-credentials clients, each a long-running process (fromHttp
// in this one), against the container endpoint on loopback with its
// Authorization token. Each gets key A, then key B after the provider rotates
// and the shared engine refreshes, through the SDK's own refresh path.

const TOKEN = "container-auth-token-0123456789";

let server: ContainerCredentialsServer;
let url: string;
let tokenFile: string;
let rotate: (keys: AwsCredentialIdentity) => void;
let engine: ReturnType<typeof refreshing>;
let env: Awaited<ReturnType<typeof isolatedEnv>>;
let seen: RequestInfo[];
const clients: ClientProcess[] = [];

beforeEach(async () => {
  env = await isolatedEnv();
  tokenFile = join(env.home, "auth-token");
  // No trailing newline: v3 fromHttp and aws-sdk v2 send the file verbatim, and Node refuses a header with LF.
  await writeFile(tokenFile, TOKEN);
  const source = rotatingProvider(KEYS("ctra"));
  rotate = source.rotate;
  engine = refreshing(source.provider, {
    minRemainingSeconds: 900,
    mandatoryWindowSeconds: 960,
    advisoryWindowSeconds: 1200,
    name: "container-clients",
  });
  seen = [];
  server = createContainerCredentialsServer({
    provider: engine,
    authTokenFile: tokenFile,
    roleArn: "arn:aws:iam::123456789012:role/legacy-app",
    onRequest: (info) => seen.push(info),
  });
  ({ url } = await server.listen());
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server.close();
  await env.cleanup();
  expect(seen.length).toBeGreaterThan(0);
  expect(seen.filter((i) => i.status !== 200)).toEqual([]);
});

const rotateAndRefresh = async () => {
  rotate(KEYS("ctrb"));
  await engine.refresh();
};

const expectKeys = (
  got: { accessKeyId: string; secretAccessKey: string; sessionToken?: string | null },
  name: string,
) => {
  const keys = KEYS(name);
  expect(got.accessKeyId).toBe(keys.accessKeyId);
  expect(got.secretAccessKey).toBe(keys.secretAccessKey);
  expect(got.sessionToken).toBe(keys.sessionToken);
};

const expectHourLeft = (expiration: string | Date | null | undefined) => {
  const left = new Date(expiration as string).getTime() - Date.now();
  expect(left).toBeGreaterThan(3_500_000);
  expect(left).toBeLessThanOrEqual(3_600_000);
};

describe("container-credentials server with real clients", () => {
  it("@aws-sdk/credential-provider-http fromHttp with the token file, across a token rotation", async () => {
    const provider = fromHttp({
      awsContainerCredentialsFullUri: url,
      awsContainerAuthorizationTokenFile: tokenFile,
    });
    const first = await provider();
    expectKeys(first, "ctra");
    expectHourLeft(first.expiration);

    // The kubelet rotates the token file: server and client both re-read it.
    await writeFile(tokenFile, "rotated-auth-token");
    await rotateAndRefresh();
    expectKeys(await provider(), "ctrb");
  });

  it("@smithy/credential-provider-imds fromContainerMetadata (AWS_CONTAINER_AUTHORIZATION_TOKEN)", async () => {
    const client = nodeClient(
      `const { fromContainerMetadata } = require("@smithy/credential-provider-imds");
       const provider = fromContainerMetadata({ timeout: 1000, maxRetries: 0 });
       const get = () => provider();
       const refresh = () => provider();`,
      { ...env.base, AWS_CONTAINER_CREDENTIALS_FULL_URI: url, AWS_CONTAINER_AUTHORIZATION_TOKEN: TOKEN },
    );
    clients.push(client);
    const first = await client.ask("get");
    expectKeys(first, "ctra");
    expectHourLeft(first.expiration);
    await rotateAndRefresh();
    expectKeys(await client.ask("refresh"), "ctrb");
  });

  it("aws-sdk v2 ECSCredentials (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE), refreshPromise on the same object", async () => {
    const client = nodeClient(
      `const AWS = require("aws-sdk");
       const creds = new AWS.ECSCredentials({ httpOptions: { timeout: 1000 }, maxRetries: 0 });
       const get = async () => { await creds.getPromise(); return creds; };
       const refresh = async () => { await creds.refreshPromise(); return creds; };`,
      {
        ...env.base,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: url,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
      },
    );
    clients.push(client);
    const first = await client.ask("get");
    expectKeys(first, "ctra");
    expectHourLeft(first.expiration);
    await writeFile(tokenFile, "rotated-auth-token");
    await rotateAndRefresh();
    expectKeys(await client.ask("refresh"), "ctrb");
  });

  it("botocore (python3-botocore) default chain → ContainerProvider, refreshed in place", async () => {
    const client = botocoreClient({
      ...env.base,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: url,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: TOKEN,
    });
    clients.push(client);
    const first = await client.ask("get");
    expect(first.method).toBe("container-role");
    expectKeys(first, "ctra");
    expectHourLeft(first.expiration);
    await rotateAndRefresh();
    const second = await client.ask("refresh");
    expectKeys(second, "ctrb");
  });
});
