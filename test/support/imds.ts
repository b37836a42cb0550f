/** The header IMDSv2 takes the session token in. */
export const IMDS_TOKEN_HEADER = "x-aws-ec2-metadata-token";

/** An IMDSv2 session token from the IMDS at `base`: the PUT every v2 client starts with. */
export const imdsToken = async (base: string, ttlSeconds = 60): Promise<string> =>
  (
    await fetch(`${base}/latest/api/token`, {
      method: "PUT",
      headers: { "x-aws-ec2-metadata-token-ttl-seconds": String(ttlSeconds) },
    })
  ).text();
