import type { RequestInfo } from "@credbridge/http";
import { afterEach, expect } from "vitest";
import { controlledProvider, manualClock, recordingLogger } from "./credentials.spec.helper.js";

/** What a server under test is built from: a provider the test drives, a recording logger, a request hook, the clock. */
export interface ServerParts {
  p: ReturnType<typeof controlledProvider>;
  log: ReturnType<typeof recordingLogger>;
  seen: RequestInfo[];
  clock: ReturnType<typeof manualClock>;
}

interface Closable {
  close(): Promise<void>;
}

/**
 * The set-up the IMDS and container servers' specs share. Call it once at the
 * top of a spec file: every server a test opens (`start`, or `track` for one
 * built by hand) is closed after the test, and no line of any logger it made
 * (`logger`) may hold one of `secrets`.
 */
export const serverSpec = <Options extends object, Server extends Closable & { listen(): Promise<unknown> }>(
  secrets: readonly string[],
  create: (parts: ServerParts, options: Options) => Server,
) => {
  const opened: Closable[] = [];
  const logs: string[][] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    // Whatever a test did, no secret reached a log line.
    for (const lines of logs.splice(0)) {
      for (const line of lines) for (const secret of secrets) expect(line).not.toContain(secret);
    }
  });

  /** Closes `server` after the test. */
  const track = <S extends Closable>(server: S): S => {
    opened.push(server);
    return server;
  };

  /** A recording logger whose lines are checked for secrets after the test. */
  const logger = () => {
    const log = recordingLogger();
    logs.push(log.lines);
    return log;
  };

  /** A server from `create`, listening. */
  const start = async (options = {} as Options, clock = manualClock()) => {
    const p = controlledProvider(clock.now);
    const log = logger();
    const seen: RequestInfo[] = [];
    const server = track(create({ p, log, seen, clock }, options));
    const addr = (await server.listen()) as Awaited<ReturnType<Server["listen"]>>;
    return { server, addr, p, log, clock, seen };
  };

  return { start, track, logger };
};
