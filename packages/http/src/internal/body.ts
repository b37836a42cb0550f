import type { IncomingMessage } from "node:http";
import type { ByteBudget } from "./budget.js";

/** A body read whole (`release` gives its bytes back to the budget), or the status that refuses it. */
export type BodyOutcome = { ok: true; body: Buffer; release: () => void } | { ok: false; status: 413 | 503 };

export interface BodyRules {
  maxBodyBytes: number;
  /** Hold the body for the handler; otherwise it is only counted. */
  keep: boolean;
  budget: ByteBudget;
}

const EMPTY = Buffer.alloc(0);

/**
 * Reads `req`'s body within `maxBodyBytes`. A kept body takes its bytes from
 * the shared budget — all of a declared `Content-Length` before the first byte
 * is read, a chunked one as it arrives — so a body that cannot fit is refused
 * (503) before it is held. `done` is called once, unless the client goes away
 * first (then the bytes go back and nobody is answered).
 */
export const readBody = (
  req: IncomingMessage,
  rules: BodyRules,
  done: (outcome: BodyOutcome) => void,
): void => {
  const { maxBodyBytes, keep, budget } = rules;
  const declared =
    req.headers["transfer-encoding"] === undefined ? Number(req.headers["content-length"] ?? 0) : undefined;
  let reserved = 0;
  if (keep && declared !== undefined && declared > 0) {
    if (!budget.reserve(declared)) {
      done({ ok: false, status: 503 });
      return;
    }
    reserved = declared;
  }
  const release = () => {
    budget.release(reserved);
    reserved = 0;
  };
  // A declared length is read into one buffer of that size; chunks are kept until the end.
  const whole = keep && declared !== undefined && declared > 0 ? Buffer.allocUnsafe(declared) : undefined;
  const chunks: Buffer[] = [];
  let received = 0;
  let settled = false;
  const settle = (outcome: BodyOutcome) => {
    settled = true;
    req.off("data", onData);
    req.off("end", onEnd);
    req.off("close", onClose);
    done(outcome);
  };
  const refuse = (status: 413 | 503) => {
    release();
    req.pause();
    settle({ ok: false, status });
  };
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    if (received > maxBodyBytes) return refuse(413);
    if (!keep) return;
    if (whole) {
      // node:http ends a body at its Content-Length: it never overflows the buffer.
      chunk.copy(whole, received - chunk.length);
      return;
    }
    if (!budget.reserve(chunk.length)) return refuse(503);
    reserved += chunk.length;
    chunks.push(chunk);
  };
  const onEnd = () => {
    const body =
      whole ?? (chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    settle({ ok: true, body, release });
  };
  const onClose = () => {
    if (settled) return;
    release();
    settled = true;
    req.off("data", onData);
    req.off("end", onEnd);
  };
  req.on("data", onData);
  req.once("end", onEnd);
  req.once("close", onClose);
};
