/**
 * RFC 3339 in UTC to the second, `Z`, no fraction (`2026-01-01T00:15:00Z`): what
 * STS, EC2's metadata service, ECS and the Pod Identity agent write, and the
 * one form every client parses (botocore wants exactly `%Y-%m-%dT%H:%M:%SZ`,
 * the SDK v3 a strict RFC 3339 ending in `Z`). Truncates the milliseconds, so
 * an expiration is never overstated.
 */
export const rfc3339Seconds = (date: Date): string => `${date.toISOString().slice(0, 19)}Z`;
