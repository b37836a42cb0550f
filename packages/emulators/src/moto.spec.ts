import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { describe, expect, it } from "vitest";
import { startMotoServer } from "./moto.js";

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("startMotoServer", () => {
  it("resolves null and says why when the program is missing", async () => {
    const messages: string[] = [];
    const moto = await startMotoServer({
      command: "credbridge-no-such-moto-server",
      logger: { warn: (message) => void messages.push(message) },
    });
    expect(moto).toBeNull();
    expect(messages).toEqual([expect.stringContaining("'credbridge-no-such-moto-server' is not on PATH")]);
  });

  it("starts moto_server, which answers a real STS client, and kills it on close", {
    timeout: 60_000,
  }, async () => {
    const messages: string[] = [];
    const moto = await startMotoServer({ logger: { warn: (message) => void messages.push(message) } });
    if (moto === null)
      throw new Error(
        `moto_server is preinstalled on these machines but did not start: ${messages.join("; ")}`,
      );
    const client = new STSClient({
      endpoint: moto.url,
      region: "us-east-1",
      credentials: { accessKeyId: "AKIAMOTOTEST00000000", secretAccessKey: "moto" },
    });
    try {
      expect(moto.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const who = await client.send(new GetCallerIdentityCommand({}));
      expect(who.Account).toMatch(/^\d{12}$/);
      expect(alive(moto.pid)).toBe(true);
    } finally {
      client.destroy();
      await moto.close();
    }
    expect(alive(moto.pid)).toBe(false);
    await expect(fetch(`${moto.url}/moto-api/`)).rejects.toThrow();
  });
});
