import { isIP } from "node:net";

/** An address as it goes into a URL or a `Host` header: `::1` → `[::1]`; IPv4 and names unchanged. */
export const hostLiteral = (address: string): string => (isIP(address) === 6 ? `[${address}]` : address);
