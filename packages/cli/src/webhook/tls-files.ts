import { X509Certificate } from "node:crypto";
import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { SecureContextOptions } from "node:tls";
import type { ProbeResult } from "../serve/probes.js";

/** A key pair as read from disk; the server checks that they belong together when it takes them. */
export interface TlsPair {
  options: SecureContextOptions;
  /** DNS names and IPs the certificate is valid for: the `Host` values the webhook accepts. */
  names: string[];
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 fingerprint, for the log: identifies the certificate without revealing anything. */
  fingerprint: string;
}

/** Reads both files and the certificate's names and dates; throws naming the file to fix. */
export const readTlsPair = async (certFile: string, keyFile: string): Promise<TlsPair> => {
  const read = async (path: string, flag: string) => {
    try {
      return await readFile(path);
    } catch (error) {
      throw new Error(`${flag} ${path} cannot be read: ${(error as Error).message}`);
    }
  };
  const [cert, key] = await Promise.all([read(certFile, "--tls-cert-file"), read(keyFile, "--tls-key-file")]);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (error) {
    throw new Error(`--tls-cert-file ${certFile} holds no PEM certificate: ${(error as Error).message}`);
  }
  const names = (x509.subjectAltName ?? "")
    .split(/,\s*/)
    .map((entry) => /^(?:DNS|IP Address):(.+)$/.exec(entry)?.[1])
    .filter((n): n is string => n !== undefined);
  return {
    options: { cert, key },
    names,
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    fingerprint: x509.fingerprint256,
  };
};

/** Ready while the certificate in use is valid: an expired one fails every call the API server makes. */
export const certificateReadiness = (
  pair: Pick<TlsPair, "notAfter"> | undefined,
  now: number,
): ProbeResult =>
  pair !== undefined && pair.notAfter.getTime() > now
    ? { ok: true, reason: "ready" }
    : {
        ok: false,
        reason: pair === undefined ? "no serving certificate yet" : "the serving certificate has expired",
      };
/**
 * Why the API server would refuse `pair`'s certificate at `now` (expired, or
 * not valid yet), or undefined while it is within its dates.
 */
export const validityProblem = (pair: TlsPair, now: number): string | undefined => {
  if (now > pair.notAfter.getTime()) return `the certificate expired at ${pair.notAfter.toISOString()}`;
  if (now < pair.notBefore.getTime())
    return `the certificate is not valid before ${pair.notBefore.toISOString()}`;
  return undefined;
};

export interface TlsWatcher {
  stop(): void;
}

/**
 * Calls `onChange` with the new pair whenever the files' contents change. It
 * watches the directories (cert-manager's secret volume swaps a symlink, which
 * an inotify watch on the files themselves would miss) and also looks every
 * `pollMs`, for filesystems that send no events. A pair that cannot be read,
 * whose certificate is expired or not valid yet at `now()` (a rotation to a
 * stale copy, a clock behind the issuer's), or that `onChange` refuses by
 * throwing (a half-written rotation: a new certificate, the old key), is
 * reported to `onError` and tried again on the next change and poll: the
 * server keeps serving the previous pair meanwhile.
 */
export const watchTlsFiles = (
  certFile: string,
  keyFile: string,
  current: TlsPair,
  onChange: (pair: TlsPair) => void,
  onError: (error: Error) => void,
  pollMs = 60_000,
  now: () => number = Date.now,
): TlsWatcher => {
  let last = current;
  let checking = false;
  let again = false;
  const check = async () => {
    if (checking) {
      again = true;
      return;
    }
    checking = true;
    try {
      const pair = await readTlsPair(certFile, keyFile);
      if (
        pair.fingerprint !== last.fingerprint ||
        !(pair.options.key as Buffer).equals(last.options.key as Buffer)
      ) {
        const problem = validityProblem(pair, now());
        if (problem) throw new Error(`--tls-cert-file ${certFile}: ${problem}`);
        onChange(pair);
        last = pair;
      }
    } catch (error) {
      onError(error as Error);
    } finally {
      checking = false;
      if (again) {
        again = false;
        void check();
      }
    }
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set([dirname(certFile), dirname(keyFile)])) {
    try {
      const w = watch(dir, () => void check());
      w.on("error", () => {});
      watchers.push(w);
    } catch {
      // No events here (or no such directory yet): the poll below still sees changes.
    }
  }
  const timer = setInterval(() => void check(), pollMs);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      for (const w of watchers) w.close();
    },
  };
};
