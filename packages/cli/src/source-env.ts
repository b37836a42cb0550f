/**
 * The variables that decide which credentials a credbridge command yields: the
 * process cache keys on them and doctor reports them. Names only: token values
 * (AWS_CONTAINER_AUTHORIZATION_TOKEN) are never part of either.
 */
export const SOURCE_ENV = [
  "AWS_ROLE_ARN",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_ROLE_SESSION_NAME",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_ENDPOINT_URL_STS",
  "AWS_ENDPOINT_URL",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
  "AWS_PROFILE",
] as const;
