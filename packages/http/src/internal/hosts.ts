import { isIP } from "node:net";
import { hostLiteral } from "@credbridge/core/wire";

/**
 * Decides whether a request's `Host` header names this server (DNS-rebinding
 * protection, as aws-vault's servers do it).
 *
 * A rebinding attack needs a DNS name the attacker controls pointing at the
 * server, so the browser sends that name as `Host`. Accepted are only:
 * - the bound address (and `localhost` for a loopback bind) with the bound port;
 * - the protocol's well-known link-local addresses (169.254.169.254 and so on)
 *   on port 80 or the bound port, for the deployment where traffic to them is
 *   redirected to this server;
 * - for a wildcard bind (0.0.0.0, ::), any IP literal: an IP literal cannot be
 *   rebound, and the server cannot know which of its addresses the client used;
 * - the `allowedHosts` entries: `name` for any port, `name:port` for that port,
 *   `*.domain` for a name of one more label under `domain` (the wildcard of a
 *   certificate, as RFC 6125 §6.4.3 matches it: `*.credbridge.svc` names
 *   `webhook.credbridge.svc`, not `a.webhook.credbridge.svc` nor `credbridge.svc`),
 *   and `*` for any value (a server with nothing a rebinding page could read).
 */
export type HostCheck = (hostHeader: string | undefined) => boolean;

interface ParsedHost {
  name: string;
  port: number;
}

/** Splits `name[:port]` / `[v6][:port]`, lower-cased; undefined when malformed. */
export const parseHostHeader = (value: string): ParsedHost | undefined => {
  const host = value.trim().toLowerCase();
  if (!host) return undefined;
  let name: string;
  let rest: string;
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    if (end === -1) return undefined;
    name = host.slice(0, end + 1);
    rest = host.slice(end + 1);
  } else {
    const colon = host.indexOf(":");
    name = colon === -1 ? host : host.slice(0, colon);
    rest = colon === -1 ? "" : host.slice(colon);
  }
  if (!name || name === "[]") return undefined;
  if (rest === "") return { name, port: 80 };
  if (!/^:\d{1,5}$/.test(rest)) return undefined;
  const port = Number(rest.slice(1));
  return port <= 65_535 ? { name, port } : undefined;
};

const isLoopback = (address: string): boolean =>
  address === "::1" || address.startsWith("127.") || address === "::ffff:127.0.0.1";

const isWildcard = (address: string): boolean => address === "0.0.0.0" || address === "::";

const unbracket = (name: string): string => (name.startsWith("[") ? name.slice(1, -1) : name);

/** `name` is one label (no dot, not empty) followed by one of `suffixes` (each `.domain`). */
const underOneWildcardLabel = (name: string, suffixes: ReadonlySet<string>): boolean => {
  const dot = name.indexOf(".");
  return dot > 0 && suffixes.has(name.slice(dot)) && isIP(name) === 0;
};

export const createHostCheck = (options: {
  boundAddress: string;
  port: number;
  wellKnown: readonly string[];
  allowedHosts: readonly string[];
}): HostCheck => {
  const { boundAddress, port } = options;
  const local = new Set<string>();
  if (!isWildcard(boundAddress)) local.add(hostLiteral(boundAddress).toLowerCase());
  if (isLoopback(boundAddress) || isWildcard(boundAddress)) {
    local.add("localhost");
    local.add("127.0.0.1");
    local.add("[::1]");
  }
  const wellKnown = new Set(options.wellKnown.map((h) => h.toLowerCase()));
  const anyPort = new Set<string>();
  const exact = new Set<string>();
  // `*.domain` entries, kept as `.domain`.
  const wildcardSuffixes = new Set<string>();
  let anyHost = false;
  for (const entry of options.allowedHosts) {
    const trimmed = entry.trim().toLowerCase();
    if (trimmed === "*") {
      anyHost = true;
      continue;
    }
    if (trimmed.startsWith("*.")) {
      const domain = trimmed.slice(2);
      // A wildcard over a single label (`*.svc`) or with another `*` names too much: ignored.
      if (domain.includes(".") && !domain.includes("*")) wildcardSuffixes.add(`.${domain}`);
      continue;
    }
    const parsed = parseHostHeader(entry);
    if (!parsed) continue;
    if (/:\d+$/.test(entry.trim()) && !entry.trim().endsWith("]")) exact.add(`${parsed.name}:${parsed.port}`);
    else anyPort.add(parsed.name);
  }
  const wildcard = isWildcard(boundAddress);
  // The header of a client using this server is almost always the same string: remember the verdicts.
  const verdicts = new Map<string, boolean>();
  const decide = (header: string): boolean => {
    const parsed = parseHostHeader(header);
    if (!parsed) return false;
    const { name, port: p } = parsed;
    if (local.has(name) && p === port) return true;
    if (wellKnown.has(name) && (p === 80 || p === port)) return true;
    if (anyPort.has(name) || exact.has(`${name}:${p}`)) return true;
    if (wildcardSuffixes.size > 0 && underOneWildcardLabel(name, wildcardSuffixes)) return true;
    return wildcard && isIP(unbracket(name)) !== 0;
  };
  if (anyHost) return () => true;
  return (header) => {
    if (header === undefined) return false;
    const known = verdicts.get(header);
    if (known !== undefined) return known;
    const verdict = decide(header);
    // Bounded: a client cycling through Host values cannot grow the memo without limit.
    if (verdicts.size < 64) verdicts.set(header, verdict);
    return verdict;
  };
};
