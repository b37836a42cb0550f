/**
 * credbridge's demo: no AWS account, nothing else running. It starts the
 * loopback STS and Pod Identity emulators, mints an IRSA token, runs
 * `credbridge serve` with a credentials file, IMDS and the container endpoint,
 * and has a legacy client (aws-sdk v2) and an AWS SDK v3 client resolve the
 * identity through each path, before and after one refresh.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { maskAccessKeyId } from "@credbridge/core";
import { mintWebIdentityToken, startPodIdentityAgent, startStsEmulator } from "@credbridge/emulators";
import type { AwsCredentialIdentity } from "@smithy/types";
import { createLegacyClients, createModernClients, whoAmIV3 } from "./clients.js";
import { formatReport, type Row } from "./report.js";
import { startServe } from "./serve.js";

const CLI = fileURLToPath(new URL("../../packages/cli/bin/credbridge.cjs", import.meta.url));
const ROLE = "arn:aws:iam::111122223333:role/legacy-registry";

const main = async (): Promise<number> => {
  // The demo's own AWS SDK v3 warns about Node 20 on every run: say it once, briefly.
  process.removeAllListeners("warning");
  process.on("warning", (w) => {
    if (w.name === "NodeVersionSupportWarning")
      process.stdout.write("  note: AWS SDK v3 releases from January 2027 need Node 22 or newer\n");
    else process.stderr.write(`warning: ${w.message}\n`);
  });
  const dir = await mkdtemp(join(tmpdir(), "credbridge-demo-"));
  const sts = await startStsEmulator();
  const agent = await startPodIdentityAgent({
    sts,
    roleArn: "arn:aws:iam::111122223333:role/pod-identity-app",
  });
  const tokenFile = join(dir, "eks.amazonaws.com", "serviceaccount", "token");
  await import("node:fs/promises").then((fs) =>
    fs.mkdir(join(dir, "eks.amazonaws.com", "serviceaccount"), { recursive: true }),
  );
  await writeFile(tokenFile, mintWebIdentityToken({ sub: "system:serviceaccount:registry:harbor" }));
  const credentialsFile = join(dir, "shared", "credentials");
  const containerTokenFile = join(dir, "shared", "container-token");
  const progress = (line: string) => process.stdout.write(`  ${line}\n`);

  process.stdout.write("credbridge demo\n");
  progress(`STS emulator ${sts.url}, Pod Identity agent emulator ${agent.url}`);
  progress(`IRSA token for system:serviceaccount:registry:harbor at ${tokenFile}`);

  const serve = startServe(
    CLI,
    [
      "serve",
      "--self-assume",
      "--credentials-file",
      credentialsFile,
      "--imds",
      "127.0.0.1:0",
      "--container-endpoint",
      "127.0.0.1:0",
      "--container-auth-token-file",
      containerTokenFile,
      "--metrics",
      "127.0.0.1:0",
    ],
    {
      PATH: process.env.PATH,
      HOME: dir,
      AWS_ROLE_ARN: ROLE,
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL_STS: sts.url,
    },
  );
  const rows: Row[] = [];
  let ok = true;
  try {
    const urls = await serve.ready();
    progress(
      `credbridge serve (IRSA → self-assume): IMDS ${urls.imds}, container ${urls.container}, metrics ${urls.metrics}`,
    );
    const authToken = (await readFile(containerTokenFile, "utf8")).trim();
    const paths = {
      credentialsFile,
      imdsUrl: urls.imds,
      containerUrl: urls.container,
      authToken,
      stsUrl: sts.url,
    };
    const clients = [...createLegacyClients(paths), ...createModernClients(paths)];

    const check = async (round: "before" | "after") => {
      const expected = sts.issued.at(-1)!;
      for (const client of clients) {
        let row: Row;
        try {
          const creds: AwsCredentialIdentity = await client.resolve();
          const arn = await client.whoAmI(creds);
          const matches =
            creds.accessKeyId === expected.accessKeyId &&
            creds.secretAccessKey === expected.secretAccessKey &&
            creds.sessionToken === expected.sessionToken;
          row = {
            round,
            client: client.name,
            path: client.path,
            key: maskAccessKeyId(creds.accessKeyId),
            arn,
            ok: matches,
          };
        } catch (error) {
          row = {
            round,
            client: client.name,
            path: client.path,
            key: "-",
            arn: (error as Error).message,
            ok: false,
          };
        }
        ok &&= row.ok;
        rows.push(row);
      }
    };
    await check("before");
    const before = sts.issued.at(-1)!.accessKeyId;
    progress("SIGHUP → credbridge refreshes once for every output");
    await serve.refresh();
    const after = sts.issued.at(-1)!.accessKeyId;
    if (after === before) ok = false;
    await check("after");

    // Pod Identity: the same CLI, another source.
    const pod = await runProcess(CLI, ["process", "--source", "pod-identity", "--no-cache"], {
      PATH: process.env.PATH,
      HOME: dir,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: agent.credentialsUrl,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: agent.token,
    });
    const podCreds = JSON.parse(pod) as {
      AccessKeyId: string;
      SecretAccessKey: string;
      SessionToken: string;
    };
    const podKey = podCreds.AccessKeyId;
    const podArn = await whoAmIV3(sts.url)({
      accessKeyId: podKey,
      secretAccessKey: podCreds.SecretAccessKey,
      sessionToken: podCreds.SessionToken,
    });
    const podOk = podKey === agent.issued.at(-1)?.accessKeyId;
    ok &&= podOk;
    rows.push({
      round: "after",
      client: "credbridge process",
      path: "Pod Identity agent → credential_process",
      key: maskAccessKeyId(podKey),
      arn: podArn,
      ok: podOk,
    });
  } finally {
    await serve.stop();
    await agent.close();
    await sts.close();
    await rm(dir, { recursive: true, force: true });
  }
  const count = (action: string) => sts.calls.filter((c) => c.action === action).length;
  process.stdout.write(
    formatReport(rows, {
      webIdentity: count("AssumeRoleWithWebIdentity"),
      assumeRole: count("AssumeRole"),
      credentialSets: 2,
      ok,
    }),
  );
  return ok ? 0 : 1;
};

const runProcess = (cli: string, args: string[], env: NodeJS.ProcessEnv) =>
  new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(err.trim()))));
  });

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`demo failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
