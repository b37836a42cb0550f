import { rfc3339Seconds } from "@credbridge/core/wire";
import { el, type XmlElement } from "../../internal/xml.js";
import type { IssuedCredentials } from "../issue.js";

// Member order follows the examples in the STS API reference; parsers must not rely on it.
export const credentialsXml = (c: IssuedCredentials): XmlElement =>
  el("Credentials", [
    el("SessionToken", c.sessionToken),
    el("SecretAccessKey", c.secretAccessKey),
    el("Expiration", rfc3339Seconds(c.expiration)),
    el("AccessKeyId", c.accessKeyId),
  ]);

export const assumedRoleUserXml = (c: IssuedCredentials): XmlElement =>
  el("AssumedRoleUser", [el("Arn", c.arn), el("AssumedRoleId", c.assumedRoleId)]);

/**
 * STS reports how much of the packed-policy budget session policies and tags
 * used, as a percentage, only when the request carried any.
 */
export const packedPolicySizeXml = (params: Readonly<Record<string, string>>): XmlElement | undefined => {
  const packed = Object.entries(params).filter(
    ([key]) => key === "Policy" || key.startsWith("PolicyArns.member.") || key.startsWith("Tags.member."),
  );
  if (packed.length === 0) return undefined;
  const bytes = packed.reduce((sum, [, value]) => sum + value.length, 0);
  return el("PackedPolicySize", Math.max(1, Math.ceil((bytes / 2048) * 100)));
};
