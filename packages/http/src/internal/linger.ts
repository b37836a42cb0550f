import type { ServerResponse } from "node:http";

/** Runs `fn` after `ms`; returns how to cancel it. */
export type Schedule = (fn: () => void, ms: number) => () => void;

const realSchedule: Schedule = (fn, ms) => {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

/**
 * Ends the connection of a request refused before its body was read without
 * losing the refusal. node:http closes a `Connection: close` answer's socket
 * once the answer is out (`socket.destroySoon()`); a socket closed while its
 * peer is still sending answers that peer with a reset, and a client whose
 * write fails on the reset drops the answer it had not read yet (a 503 to a
 * client still sending its body arrived as ECONNRESET, one in 45 on a loaded
 * machine). So the answer and a FIN go out, nothing more is read (reading
 * bodies only to drop them would cost what the refusal saved), and the
 * connection is cut after `ms` (or when it closes first): time for a client
 * that reads while it sends to read the refusal. A request read in full closes
 * at once, as before.
 */
export const lingerAfter = (res: ServerResponse, ms: number, schedule: Schedule = realSchedule): void => {
  const { req, socket } = res;
  if (req.complete || socket === null || socket.destroyed) return;
  socket.destroySoon = () => {
    req.pause();
    socket.pause();
    if (socket.writable) socket.end();
    const cancel = schedule(() => socket.destroy(), ms);
    socket.once("close", cancel);
  };
};
