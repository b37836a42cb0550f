import { UsageError } from "./usage-error.js";

/** `HOST:PORT` or `[IPv6]:PORT` → listen options. */
export const parseHostPort = (
  value: string,
  flag: string,
  command: string,
): { host: string; port: number } => {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535)
    throw new UsageError(`--${flag} must be HOST:PORT (e.g. 127.0.0.1:8080), got "${value}"`, command);
  return { host: (m[1] ?? m[2])!, port };
};
