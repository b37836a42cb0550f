import { SigV4Error } from "./errors.js";

export const SIGV4_ALGORITHM = "AWS4-HMAC-SHA256";

/** The parts of a SigV4 signature a server needs to find and check the signer. */
export interface SigV4Auth {
  accessKeyId: string;
  /** `YYYYMMDD` from the credential scope. */
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  /** Signed in the `Authorization` header or in the query string (presigned URL). */
  location: "header" | "query";
}

const parseScope = (
  credential: string,
  expectedService: string,
): Pick<SigV4Auth, "accessKeyId" | "date" | "region" | "service"> => {
  const parts = credential.split("/");
  if (parts.length !== 5 || parts.some((p) => p.length === 0)) {
    throw new SigV4Error(
      "IncompleteSignature",
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'`,
    );
  }
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  if (service !== expectedService) {
    throw new SigV4Error(
      "SignatureDoesNotMatch",
      `Credential should be scoped to correct service: '${expectedService}'. `,
    );
  }
  if (terminator !== "aws4_request") {
    throw new SigV4Error(
      "SignatureDoesNotMatch",
      `Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'. `,
    );
  }
  return { accessKeyId, date, region, service };
};

/**
 * Parses `AWS4-HMAC-SHA256 Credential=AKID/date/region/<service>/aws4_request,
 * SignedHeaders=a;b, Signature=hex`. Anything else is a {@link SigV4Error}
 * (`IncompleteSignature`, or `SignatureDoesNotMatch` for a scope naming
 * another service than `service`).
 */
export const parseAuthorizationHeader = (value: string, service: string): SigV4Auth => {
  const trimmed = value.trim();
  const space = trimmed.indexOf(" ");
  const algorithm = space === -1 ? trimmed : trimmed.slice(0, space);
  if (algorithm !== SIGV4_ALGORITHM) {
    throw new SigV4Error(
      "IncompleteSignature",
      `Unsupported AWS 'algorithm': '${algorithm}'; only '${SIGV4_ALGORITHM}' is accepted.`,
    );
  }
  const fields = new Map<string, string>();
  for (const part of trimmed.slice(space + 1).split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const missing = ["Credential", "SignedHeaders", "Signature"].filter((name) => !fields.get(name));
  if (missing.length > 0) {
    throw new SigV4Error(
      "IncompleteSignature",
      missing.map((name) => `Authorization header requires '${name}' parameter.`).join(" "),
    );
  }
  return {
    ...parseScope(fields.get("Credential")!, service),
    signedHeaders: fields.get("SignedHeaders")!.split(";"),
    signature: fields.get("Signature")!,
    location: "header",
  };
};

/** The signature of a presigned request (`X-Amz-Credential` & co.), or undefined when unsigned. */
export const parsePresignedQuery = (query: URLSearchParams, service: string): SigV4Auth | undefined => {
  const credential = query.get("X-Amz-Credential");
  if (credential === null) return undefined;
  const algorithm = query.get("X-Amz-Algorithm");
  if (algorithm !== SIGV4_ALGORITHM) {
    throw new SigV4Error("IncompleteSignature", `Unsupported X-Amz-Algorithm: '${algorithm ?? ""}'.`);
  }
  const signedHeaders = query.get("X-Amz-SignedHeaders");
  const signature = query.get("X-Amz-Signature");
  if (!signedHeaders || !signature) {
    throw new SigV4Error(
      "IncompleteSignature",
      "Presigned request requires X-Amz-SignedHeaders and X-Amz-Signature.",
    );
  }
  return {
    ...parseScope(credential, service),
    signedHeaders: signedHeaders.split(";"),
    signature,
    location: "query",
  };
};
