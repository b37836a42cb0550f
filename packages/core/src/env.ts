/** The environment variables credbridge reads, named as the AWS SDKs name them. */
export const ENV_ROLE_ARN = "AWS_ROLE_ARN";
export const ENV_WEB_IDENTITY_TOKEN_FILE = "AWS_WEB_IDENTITY_TOKEN_FILE";
export const ENV_ROLE_SESSION_NAME = "AWS_ROLE_SESSION_NAME";
export const ENV_REGION = "AWS_REGION";
export const ENV_DEFAULT_REGION = "AWS_DEFAULT_REGION";
export const ENV_ENDPOINT_URL_STS = "AWS_ENDPOINT_URL_STS";
export const ENV_ENDPOINT_URL = "AWS_ENDPOINT_URL";
export const ENV_CONTAINER_CREDENTIALS_FULL_URI = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
export const ENV_CONTAINER_CREDENTIALS_RELATIVE_URI = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
export const ENV_CONTAINER_AUTHORIZATION_TOKEN_FILE = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
export const ENV_CONTAINER_AUTHORIZATION_TOKEN = "AWS_CONTAINER_AUTHORIZATION_TOKEN";

/** The ECS host that `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is relative to. */
export const CONTAINER_RELATIVE_URI_HOST = "http://169.254.170.2";
/** STS region used when no region is configured, as the AWS SDKs' role assumers do. */
export const DEFAULT_STS_REGION = "us-east-1";
/** AWS caps every session obtained by role chaining at one hour. */
export const ROLE_CHAINING_MAX_SECONDS = 3600;

/** The first non-empty value among the given variables. */
export const firstEnv = (env: Readonly<Record<string, string | undefined>>, ...names: string[]) => {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return { name, value };
  }
  return undefined;
};

/**
 * Why there is no home directory, for messages: `HOME` unset or empty (a runtime that sets it
 * to nothing is a different fix from one that leaves it out), and no passwd entry for this uid.
 */
export const noHomeReason = (
  env: Readonly<Record<string, string | undefined>>,
  uid: number | undefined,
): string =>
  `HOME is ${env.HOME === undefined ? "unset" : "empty"} and ${uid === undefined ? "this uid" : `uid ${uid}`} has no passwd entry`;
