import type { ServerResponse } from "node:http";
import type { ByteBudget } from "./budget.js";

/**
 * Holds the part of an answer just written that the kernel has not taken yet
 * against `budget`, until it has (the response's `finish`) or the connection
 * is gone. A client that stops reading leaves its answer in the process: it
 * counts there, it is cut to make room once it has stalled, an answer that
 * does not fit is cut at once, and one still unsent after `sendTimeoutMs` is
 * cut too. An answer taken at once (plain HTTP to a reading client) costs
 * nothing here.
 */
export const holdUnsent = (res: ServerResponse, budget: ByteBudget, sendTimeoutMs: number): void => {
  // The response's own queue (pipelined behind another answer) and its socket's.
  const unsent = res.writableLength;
  if (unsent === 0 || res.destroyed) return;
  const cut = () => {
    res.destroy();
  };
  const holding = budget.hold(cut);
  if (!holding.take(unsent)) {
    holding.release();
    cut();
    return;
  }
  const timer = setTimeout(cut, sendTimeoutMs);
  timer.unref();
  const done = () => {
    clearTimeout(timer);
    holding.release();
    res.off("finish", done);
    res.off("close", done);
  };
  res.once("finish", done);
  res.once("close", done);
};
