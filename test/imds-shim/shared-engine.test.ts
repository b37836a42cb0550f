import { refreshing } from "@credbridge/core";
import { createContainerCredentialsServer, createImdsServer } from "@credbridge/imds-shim";
import { describe, expect, it } from "vitest";
import { until } from "../faults/support.js";
import { KEYS, rotatingProvider } from "./harness.js";

// How the CLI wires it: one refresh engine, configured with the servers' margin,
// shared by IMDS and the container endpoint (and the credentials file writer).

const TOKEN = "shared-engine-token";

describe("one engine behind both servers", () => {
  it("1000 concurrent requests across IMDS and the container endpoint cause one upstream fetch", async () => {
    const source = rotatingProvider(KEYS("shared"));
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const shared = refreshing(
      async () => {
        await gate;
        return source.provider();
      },
      { minRemainingSeconds: 900, mandatoryWindowSeconds: 960, advisoryWindowSeconds: 1200 },
    );
    const imds = createImdsServer({ provider: shared, runtime: { env: {} } });
    const container = createContainerCredentialsServer({ provider: shared, authToken: TOKEN });
    const [i, c] = await Promise.all([imds.listen(), container.listen()]);
    try {
      const requests = Array.from({ length: 1000 }, (_, n) =>
        n % 2
          ? fetch(`${i.url}/latest/meta-data/iam/security-credentials/credbridge`).then(async (r) =>
              JSON.parse(await r.text()),
            )
          : fetch(c.url, { headers: { Authorization: TOKEN } }).then((r) => r.json()),
      );
      await until(() => shared.state().refreshing, 10_000, "the first request to start the refresh");
      release();
      const bodies = (await Promise.all(requests)) as Array<{ AccessKeyId: string }>;
      expect(bodies.every((b) => b.AccessKeyId === KEYS("shared").accessKeyId)).toBe(true);
      expect(source.state.calls).toBe(1);
    } finally {
      await Promise.all([imds.close(), container.close()]);
    }
  });
});
