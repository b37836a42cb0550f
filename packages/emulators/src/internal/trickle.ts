import type { OutgoingHttpHeaders, ServerResponse } from "node:http";

/** Between two bytes of a trickled answer, unless a fault says otherwise. */
export const DEFAULT_TRICKLE_INTERVAL_MS = 1_000;

/**
 * Answers with a status and headers at once, then one byte every `intervalMs`
 * and never the end: what a slow proxy or a half-broken NAT path does. An idle
 * timeout never trips on it; only an overall deadline does. The bytes are
 * spaces, so the body stays well-formed whitespace however long it runs. Ends
 * when the client goes away or the emulator closes (its `intervals` are cleared).
 */
export const trickle = (
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  intervalMs: number,
  intervals: Set<NodeJS.Timeout>,
): void => {
  if (res.destroyed) return;
  res.writeHead(status, headers);
  res.flushHeaders();
  const timer = setInterval(() => {
    if (res.destroyed) return stop();
    res.write(" ");
  }, intervalMs);
  intervals.add(timer);
  const stop = () => {
    clearInterval(timer);
    intervals.delete(timer);
  };
  res.once("close", stop);
};
