/**
 * The only form in which an access key id may reach a log line or an error:
 * its last four characters, as aws-vault logs them. Secrets and tokens never do.
 */
export const maskAccessKeyId = (accessKeyId: string | undefined): string =>
  accessKeyId && accessKeyId.length > 4 ? `****${accessKeyId.slice(-4)}` : "****";
