/**
 * `@credbridge/core/wire`: the formats AWS clients and servers agree on, in
 * one place for every credbridge package (and tools built beside them): ARNs,
 * timestamps, host literals, the container authorization token, web-identity
 * token claims, and the identity STS returned with a session. Not needed to use the providers.
 */
export type { Arn, AssumedRoleArn, RoleArn } from "./wire/arn.js";
export { formatRoleArn, parseArn, parseAssumedRoleArn, parseRoleArn } from "./wire/arn.js";
export { parseAuthorizationToken } from "./wire/authorization-token.js";
export { hostLiteral } from "./wire/host-literal.js";
export type { JwtClaims } from "./wire/jwt.js";
export { audiences, decodeJwtClaims, MalformedJwtError } from "./wire/jwt.js";
export type { RoleSessionCredentials, SessionIdentity } from "./wire/session-identity.js";
export { confirmedRoleArn, sessionIdentity } from "./wire/session-identity.js";
export { rfc3339Seconds } from "./wire/timestamp.js";
