import { parseArgs } from "node:util";
import { type PodIdentityAgent, startPodIdentityAgent } from "./agent/server.js";
import type { BaseIdentity } from "./sts/identity.js";
import { type StsEmulator, startStsEmulator } from "./sts/server.js";

/** The AWS documentation's example key pair, accepted by the CLI's STS as an IAM user. */
export const EXAMPLE_BASE_IDENTITY: Readonly<
  { accessKeyId: string } & Required<Pick<BaseIdentity, "arn" | "secretAccessKey">>
> = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  arn: "arn:aws:iam::123456789012:user/credbridge-example",
};

export const DEFAULT_CLI_ROLE_ARN = "arn:aws:iam::123456789012:role/credbridge-demo";

export const CLI_USAGE = `Usage: credbridge-emulators [options]

Starts the STS emulator and the EKS Pod Identity agent emulator on loopback,
prints one JSON line {"sts","agent","agentToken","roleArn"} and runs until
SIGTERM or SIGINT. "agent" is the full credentials URL
(AWS_CONTAINER_CREDENTIALS_FULL_URI); the agent mints sessions of --role-arn
through the STS emulator, so GetCallerIdentity works with them.

Options:
  --host <ip>            bind address (default 127.0.0.1)
  --sts-port <n>         STS port (default: free port)
  --agent-port <n>       agent port (default: free port)
  --agent-token <s>      Authorization value the agent requires (default: random)
  --role-arn <arn>       role of the agent's sessions (default ${DEFAULT_CLI_ROLE_ARN})
  --lifetime <seconds>   force the lifetime of all issued credentials
  --verify-signatures    make STS recompute SigV4 signatures
  -h, --help             show this help

The STS emulator also accepts ${EXAMPLE_BASE_IDENTITY.accessKeyId} (the SigV4 test suite's example key) as
${EXAMPLE_BASE_IDENTITY.arn}.
`;

export interface RunningEmulators {
  sts: StsEmulator;
  agent: PodIdentityAgent;
  /** The JSON line announcing the endpoints (without newline). */
  readyLine: string;
  close(): Promise<void>;
}

const integer = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`--${name} must be a non-negative integer, got '${value}'`);
  return Number(value);
};

/** Parses CLI arguments and starts both emulators; `undefined` means `--help` was asked for. */
export const startEmulatorsFromArgs = async (
  argv: readonly string[],
): Promise<RunningEmulators | undefined> => {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      host: { type: "string" },
      "sts-port": { type: "string" },
      "agent-port": { type: "string" },
      "agent-token": { type: "string" },
      "role-arn": { type: "string" },
      lifetime: { type: "string" },
      "verify-signatures": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return undefined;
  const host = values.host ?? "127.0.0.1";
  const lifetime = integer("lifetime", values.lifetime);
  const roleArn = values["role-arn"] ?? DEFAULT_CLI_ROLE_ARN;
  const { accessKeyId, ...base } = EXAMPLE_BASE_IDENTITY;
  const sts = await startStsEmulator({
    host,
    port: integer("sts-port", values["sts-port"]) ?? 0,
    baseIdentities: { [accessKeyId]: base },
    verifySignatures: values["verify-signatures"] ?? false,
    ...(lifetime === undefined ? {} : { lifetimeSeconds: lifetime }),
  });
  let agent: PodIdentityAgent;
  try {
    agent = await startPodIdentityAgent({
      host,
      port: integer("agent-port", values["agent-port"]) ?? 0,
      sts,
      roleArn,
      ...(values["agent-token"] === undefined ? {} : { token: values["agent-token"] }),
      ...(lifetime === undefined ? {} : { lifetimeSeconds: lifetime }),
    });
  } catch (error) {
    await sts.close();
    throw error;
  }
  return {
    sts,
    agent,
    readyLine: JSON.stringify({
      sts: sts.url,
      agent: agent.credentialsUrl,
      agentToken: agent.token,
      roleArn,
    }),
    close: async () => {
      await Promise.all([sts.close(), agent.close()]);
    },
  };
};
