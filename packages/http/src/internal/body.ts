import type { IncomingMessage } from "node:http";
import type { ByteBudget, Holding } from "./budget.js";

/** A body read whole (`release` gives its bytes back to the budget), or the status that refuses it. */
export type BodyOutcome = { ok: true; body: Buffer; release: () => void } | { ok: false; status: 413 | 503 };

export interface BodyRules {
  maxBodyBytes: number;
  /** Hold the body for the handler; otherwise it is only counted. */
  keep: boolean;
  budget: ByteBudget;
}

const EMPTY = Buffer.alloc(0);
const NOTHING: Holding = { take: () => true, release: () => {}, pinned: false };

/**
 * Reads `req`'s body within `maxBodyBytes`. A kept body takes each chunk's
 * bytes from the shared budget as it arrives — never what a `Content-Length`
 * merely declares, which a client need not send. A declared body that cannot
 * fit now is refused (503) before its first byte is read; a chunk that cannot
 * fit is refused too; a body that stopped arriving may be refused (503) to make
 * room for others. `done` is called once, unless the client goes away first
 * (then the bytes go back and nobody is answered).
 */
export const readBody = (
  req: IncomingMessage,
  rules: BodyRules,
  done: (outcome: BodyOutcome) => void,
): void => {
  const { maxBodyBytes, keep, budget } = rules;
  const declared =
    req.headers["transfer-encoding"] === undefined ? Number(req.headers["content-length"] ?? 0) : undefined;
  // A declared length is read into one buffer of that size, made at its first byte; chunks are kept until the end.
  let whole: Buffer | undefined;
  const chunks: Buffer[] = [];
  let received = 0;
  let settled = false;
  const stop = () => {
    settled = true;
    holding.release();
    req.off("data", onData);
    req.off("end", onEnd);
    req.off("close", onClose);
  };
  const refuse = (status: 413 | 503) => {
    if (settled) return;
    stop();
    whole = undefined;
    chunks.length = 0;
    req.pause();
    done({ ok: false, status });
  };
  // A body that cannot fit beside the others is refused before a byte of it is read.
  if (keep && declared !== undefined && declared > 0 && !budget.room(declared)) {
    done({ ok: false, status: 503 });
    return;
  }
  const holding = keep ? budget.hold(() => refuse(503)) : NOTHING;
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    if (received > maxBodyBytes) return refuse(413);
    if (!keep) return;
    if (!holding.take(chunk.length)) return refuse(503);
    if (declared !== undefined) {
      whole ??= Buffer.allocUnsafe(declared);
      // node:http ends a body at its Content-Length: it never overflows the buffer.
      chunk.copy(whole, received - chunk.length);
      return;
    }
    chunks.push(chunk);
  };
  const onEnd = () => {
    settled = true;
    req.off("data", onData);
    req.off("close", onClose);
    // Being answered now: its bytes stay until the handler is done.
    holding.pinned = true;
    const body =
      whole ?? (chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    done({ ok: true, body, release: holding.release });
  };
  const onClose = () => {
    if (!settled) stop();
  };
  req.on("data", onData);
  req.once("end", onEnd);
  req.once("close", onClose);
};
