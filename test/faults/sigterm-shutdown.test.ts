import { connect } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { listeningUrl, startCli } from "../support/cli.js";
import { irsaFixture } from "../support/irsa.js";
import { serverHasRead } from "../support/sockets.js";
import { until } from "./support.js";

// Shutdown must not wait for work it can abandon: a hung first fetch, a client
// that never finishes its request head.

let fx: Awaited<ReturnType<typeof irsaFixture>>;
beforeAll(async () => {
  fx = await irsaFixture();
});
afterAll(() => fx.close());
afterEach(() => fx.sts.reset());

const terminate = async (cli: ReturnType<typeof startCli>) => {
  const started = performance.now();
  cli.child.kill("SIGTERM");
  const exit = await cli.exited;
  return { ...exit, ms: performance.now() - started };
};

describe("SIGTERM must not wait for work it can abandon", () => {
  it("during the very first fetch, with STS not answering: exit 0 within 5 s", async () => {
    fx.sts.hang();
    const cli = startCli(["serve", "--credentials-file", fx.tmp.path("first", "credentials")], fx.env());
    try {
      await until(
        () => fx.sts.calls.some((c) => c.fault === "hang" && c.status === 0),
        10_000,
        "the first fetch to reach STS",
      );
      const exit = await terminate(cli);
      console.log(`SIGTERM during the first fetch: exit ${exit.code} after ${Math.round(exit.ms)} ms`);
      expect(exit.ms).toBeLessThan(5_000);
      expect(exit.code).toBe(0);
    } finally {
      await cli.stop("SIGKILL");
    }
  });

  it("a client that sent half a request head does not hold shutdown to the 4.5 s budget", async () => {
    const cli = startCli(
      ["serve", "--credentials-file", fx.tmp.path("stalled", "credentials"), "--imds", "127.0.0.1:0"],
      fx.env(),
    );
    try {
      const url = new URL(await listeningUrl(cli, "imds"));
      await cli.waitFor((l) => l.msg === "credentials refreshed");
      const stalled = connect({ host: url.hostname, port: Number(url.port) });
      stalled.on("error", () => {});
      stalled.write("GET /latest/meta-data/ HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      await until(() => serverHasRead(stalled), 5_000, "serve to read the half head");
      const exit = await terminate(cli);
      stalled.destroy();
      console.log(`SIGTERM with a stalled IMDS client: exit ${exit.code} after ${Math.round(exit.ms)} ms`);
      expect(exit.code).toBe(0);
      expect(exit.ms).toBeLessThan(2_000);
      expect(cli.lines.some((l) => l.includes("shutdown took too long"))).toBe(false);
    } finally {
      await cli.stop("SIGKILL");
    }
  });
});
