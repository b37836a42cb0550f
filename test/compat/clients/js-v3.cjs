// A long-running AWS SDK for JavaScript v3 application: one STSClient whose
// credentials come from the default Node chain (environment, credentials file,
// credential_process, container endpoint, IMDS), as an app with no credential
// code gets them. The client memoizes them and refreshes 5 minutes before
// their expiration. Commands on stdin, one JSON line out per command:
//   get   the credentials the client signs with now (client.config.credentials())
//   call  sts:GetCallerIdentity against CREDCHECK_STS_ENDPOINT
const { createInterface } = require("node:readline");
const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");
const { fromNodeProviderChain } = require("@aws-sdk/credential-providers");

const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const version = (name) => {
  try {
    return require(`${name}/package.json`).version;
  } catch {
    return "unknown";
  }
};

const client = new STSClient({
  region: "us-east-1",
  endpoint: process.env.CREDCHECK_STS_ENDPOINT,
  credentials: fromNodeProviderChain(),
});

const commands = {
  get: async () => {
    const c = await client.config.credentials();
    return {
      creds: {
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        sessionToken: c.sessionToken ?? null,
        expiration: c.expiration ? c.expiration.toISOString() : null,
      },
    };
  },
  call: async () => ({ arn: (await client.send(new GetCallerIdentityCommand({}))).Arn }),
};

out({
  ok: true,
  versions: {
    "@aws-sdk/client-sts": version("@aws-sdk/client-sts"),
    "@aws-sdk/credential-providers": version("@aws-sdk/credential-providers"),
  },
});
createInterface({ input: process.stdin }).on("line", async (line) => {
  const run = commands[line.trim()];
  if (!run) return out({ ok: false, error: `unknown command ${line}` });
  try {
    out({ ok: true, ...(await run()) });
  } catch (e) {
    out({ ok: false, error: String(e?.message ?? e), code: e?.Code ?? e?.code ?? e?.name });
  }
});
