import { createRequire } from "node:module";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { fromHttp, fromIni, fromInstanceMetadata } from "@aws-sdk/credential-providers";
import type { AwsCredentialIdentity } from "@smithy/types";

export interface Paths {
  credentialsFile: string;
  imdsUrl: string;
  containerUrl: string;
  authToken: string;
  stsUrl: string;
}

/** One SDK resolving credentials through one delivery path, and proving them with GetCallerIdentity. */
export interface DemoClient {
  name: string;
  path: string;
  resolve(): Promise<AwsCredentialIdentity>;
  whoAmI(credentials: AwsCredentialIdentity): Promise<string>;
}

export const whoAmIV3 =
  (stsUrl: string) =>
  async (credentials: AwsCredentialIdentity): Promise<string> => {
    const client = new STSClient({ region: "us-east-1", endpoint: stsUrl, credentials });
    try {
      return (await client.send(new GetCallerIdentityCommand({}))).Arn ?? "?";
    } finally {
      client.destroy();
    }
  };

/** AWS SDK for JavaScript v3, each provider built afresh per call as a new process would. */
export const createModernClients = (p: Paths): DemoClient[] => {
  const whoAmI = whoAmIV3(p.stsUrl);
  return [
    {
      name: "AWS SDK v3",
      path: "credentials file",
      resolve: () =>
        fromIni({
          filepath: p.credentialsFile,
          configFilepath: `${p.credentialsFile}.none`,
          ignoreCache: true,
        })(),
      whoAmI,
    },
    {
      name: "AWS SDK v3",
      path: "IMDSv2",
      resolve: () => {
        process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = p.imdsUrl;
        return fromInstanceMetadata({ maxRetries: 1 })();
      },
      whoAmI,
    },
    {
      name: "AWS SDK v3",
      path: "container endpoint",
      resolve: () =>
        fromHttp({
          awsContainerCredentialsFullUri: p.containerUrl,
          awsContainerAuthorizationToken: p.authToken,
        })(),
      whoAmI,
    },
  ];
};

type V2Credentials = {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  getPromise(): Promise<void>;
  refreshPromise(): Promise<void>;
};

/**
 * The legacy aws-sdk v2, as an old Node application holds it: one credentials
 * object per path, kept for the life of the process and refreshed in place.
 */
export const createLegacyClients = (p: Paths): DemoClient[] => {
  // v2 reads the metadata endpoint when it loads, as applications configure it.
  process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = p.imdsUrl;
  process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = p.containerUrl;
  process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = p.authToken;
  process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = "1";
  const AWS = createRequire(import.meta.url)("aws-sdk") as typeof import("aws-sdk");
  const whoAmI = async (c: AwsCredentialIdentity) => {
    const sts = new AWS.STS({
      region: "us-east-1",
      endpoint: p.stsUrl,
      credentials: new AWS.Credentials(c as never),
    });
    return (await sts.getCallerIdentity().promise()).Arn ?? "?";
  };
  const held = (path: string, creds: V2Credentials): DemoClient => {
    let first = true;
    return {
      name: "aws-sdk v2 (legacy)",
      path,
      resolve: async () => {
        // The first call loads; later calls refresh the same long-lived object.
        if (first) await creds.getPromise();
        else await creds.refreshPromise();
        first = false;
        return {
          accessKeyId: creds.accessKeyId,
          secretAccessKey: creds.secretAccessKey,
          ...(creds.sessionToken ? { sessionToken: creds.sessionToken } : {}),
        };
      },
      whoAmI,
    };
  };
  return [
    held(
      "credentials file",
      new AWS.SharedIniFileCredentials({
        filename: p.credentialsFile,
        profile: "default",
      }) as unknown as V2Credentials,
    ),
    held("IMDS", new AWS.EC2MetadataCredentials() as unknown as V2Credentials),
    held("container endpoint", new AWS.ECSCredentials() as unknown as V2Credentials),
  ];
};
