import { EventEmitter } from "node:events";
import type { ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { lingerAfter, type Schedule } from "./linger.js";

/** What node:http hands `lingerAfter`: a response, its request and its socket, recording what is done to them. */
const setup = (complete: boolean) => {
  const done: string[] = [];
  const socket = Object.assign(new EventEmitter(), {
    destroyed: false,
    writable: true,
    pause: () => done.push("socket.pause"),
    end: () => done.push("socket.end"),
    destroy: () => done.push("socket.destroy"),
    destroySoon: () => done.push("socket.destroy (node:http's destroySoon)"),
  });
  const req = { complete, pause: () => done.push("req.pause") };
  const res = { req, socket } as unknown as ServerResponse;
  const timers: { fn: () => void; ms: number; cancelled: boolean }[] = [];
  const schedule: Schedule = (fn, ms) => {
    const timer = { fn, ms, cancelled: false };
    timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  };
  return { done, socket, res, timers, schedule };
};

describe("lingerAfter", () => {
  it("sends the FIN, reads nothing more and cuts the connection only after ms, where node:http would cut it at once", () => {
    const { done, socket, res, timers, schedule } = setup(false);
    lingerAfter(res, 3_000, schedule);
    socket.destroySoon();
    expect(done).toEqual(["req.pause", "socket.pause", "socket.end"]);
    expect(timers.map((t) => t.ms)).toEqual([3_000]);
    timers[0]!.fn();
    expect(done.at(-1)).toBe("socket.destroy");
  });

  it("forgets its timer when the connection closes first", () => {
    const { socket, res, timers, schedule } = setup(false);
    lingerAfter(res, 3_000, schedule);
    socket.destroySoon();
    socket.emit("close");
    expect(timers[0]!.cancelled).toBe(true);
  });

  it("leaves a request read in full to close at once", () => {
    const { done, socket, res, timers, schedule } = setup(true);
    lingerAfter(res, 3_000, schedule);
    socket.destroySoon();
    expect(done).toEqual(["socket.destroy (node:http's destroySoon)"]);
    expect(timers).toEqual([]);
  });
});
