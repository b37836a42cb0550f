import { isIP } from "node:net";
import { CredbridgeError } from "../errors.js";

/** Plain-http hosts the AWS SDKs trust for container credentials (ECS, EKS Pod Identity). */
const TRUSTED_HTTP_HOSTS = new Set([
  "localhost",
  "169.254.170.2",
  "169.254.170.23",
  "[fd00:ec2::23]",
  "[::1]",
]);

const isLoopbackV4 = (host: string) => isIP(host) === 4 && host.startsWith("127.");

/**
 * Refuses, before any request is sent, a URL that would carry the authorization
 * token in the clear to a host outside the node: https anywhere, http only to
 * loopback and the ECS / Pod Identity link-local agents.
 */
export const checkContainerUrl = (raw: string, variable: string): URL => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CredbridgeError(`${variable} is not a valid URL: "${raw.slice(0, 200)}"`, {
      code: "ERR_CONFIG",
    });
  }
  if (url.protocol === "https:") return url;
  if (url.protocol !== "http:") {
    throw new CredbridgeError(`${variable} must be an http or https URL, got ${url.protocol}`, {
      code: "ERR_CONFIG",
    });
  }
  const host = url.hostname.toLowerCase();
  if (TRUSTED_HTTP_HOSTS.has(host) || isLoopbackV4(host)) return url;
  throw new CredbridgeError(
    `${variable} points to http://${url.host}: plain http is allowed only to loopback, 169.254.170.2, 169.254.170.23 and [fd00:ec2::23]; use https or a loopback address`,
    { code: "ERR_INSECURE_URL" },
  );
};
