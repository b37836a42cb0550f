// A long-running aws-sdk v2 (the legacy JavaScript SDK) application: the
// default CredentialProviderChain resolves one Credentials object (shared ini
// file, ECS/container, process, EC2 metadata) shared by an AWS.STS client.
// v2 refreshes that object within `expiryWindow` (15 s) of `expireTime`, or
// when `expired` is set (it sets it itself on an ExpiredToken answer, then
// retries); CREDCHECK_EXPIRY_WINDOW overrides the window.
// Commands on stdin, one JSON line out per command:
//   get           creds.getPromise(): the credentials the client signs with now
//   call          sts.getCallerIdentity() against CREDCHECK_STS_ENDPOINT
//   warp SECONDS  moves v2's clock ahead (AWS.config.systemClockOffset, which
//                 its expiry checks and signer read), as if the process had
//                 been running that much longer
const { createInterface } = require("node:readline");
const AWS = require("aws-sdk");

const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
let creds;
let sts;
const resolve = async () => {
  if (creds) return;
  creds = await new AWS.CredentialProviderChain().resolvePromise();
  if (process.env.CREDCHECK_EXPIRY_WINDOW) creds.expiryWindow = Number(process.env.CREDCHECK_EXPIRY_WINDOW);
  sts = new AWS.STS({
    credentials: creds,
    region: "us-east-1",
    endpoint: process.env.CREDCHECK_STS_ENDPOINT,
  });
};

const commands = {
  get: async () => {
    await resolve();
    await creds.getPromise();
    return {
      creds: {
        accessKeyId: creds.accessKeyId,
        secretAccessKey: creds.secretAccessKey,
        sessionToken: creds.sessionToken ?? null,
        expiration: creds.expireTime ? new Date(creds.expireTime).toISOString() : null,
        provider: creds.constructor.name,
      },
    };
  },
  call: async () => {
    await resolve();
    return { arn: (await sts.getCallerIdentity().promise()).Arn };
  },
  warp: async (seconds) => {
    AWS.config.systemClockOffset = (AWS.config.systemClockOffset || 0) + Number(seconds) * 1000;
    return {};
  },
};

out({ ok: true, versions: { "aws-sdk": AWS.VERSION } });
createInterface({ input: process.stdin }).on("line", async (line) => {
  const [name, ...args] = line.trim().split(/\s+/);
  const run = commands[name];
  if (!run) return out({ ok: false, error: `unknown command ${line}` });
  try {
    out({ ok: true, ...(await run(...args)) });
  } catch (e) {
    out({ ok: false, error: String(e?.message ?? e), code: e?.code });
  }
});
