import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { fromHttp } from "@aws-sdk/credential-provider-http";
import { describe, expect, it } from "vitest";
import { DEFAULT_CLI_ROLE_ARN, EXAMPLE_BASE_IDENTITY, startEmulatorsFromArgs } from "./cli.js";

describe("startEmulatorsFromArgs", () => {
  it("starts both emulators wired together and announces them in one JSON line", async () => {
    const running = await startEmulatorsFromArgs(["--agent-token", "tok-123", "--lifetime", "120"]);
    if (!running) throw new Error("expected emulators");
    const sts = new STSClient({
      endpoint: running.sts.url,
      region: "us-east-1",
      credentials: EXAMPLE_BASE_IDENTITY,
    });
    try {
      const line = JSON.parse(running.readyLine) as Record<string, string>;
      expect(line).toEqual({
        sts: running.sts.url,
        agent: `${running.agent.url}/v1/credentials`,
        agentToken: "tok-123",
        roleArn: DEFAULT_CLI_ROLE_ARN,
      });
      const creds = await fromHttp({
        awsContainerCredentialsFullUri: line.agent!,
        awsContainerAuthorizationToken: line.agentToken!,
        maxRetries: 0,
      })();
      expect(creds.expiration!.getTime() - Date.now()).toBeLessThanOrEqual(120_000);
      const asPod = new STSClient({ endpoint: line.sts!, region: "us-east-1", credentials: creds });
      try {
        const who = await asPod.send(new GetCallerIdentityCommand({}));
        expect(who.Arn).toMatch(/^arn:aws:sts::123456789012:assumed-role\/credbridge-demo\//);
      } finally {
        asPod.destroy();
      }
      const fromKey = await sts.send(
        new AssumeRoleCommand({ RoleArn: DEFAULT_CLI_ROLE_ARN, RoleSessionName: "cli" }),
      );
      expect(fromKey.AssumedRoleUser?.Arn).toBe("arn:aws:sts::123456789012:assumed-role/credbridge-demo/cli");
    } finally {
      sts.destroy();
      await running.close();
    }
  });

  it("returns undefined for --help and throws on bad arguments", async () => {
    await expect(startEmulatorsFromArgs(["--help"])).resolves.toBeUndefined();
    await expect(startEmulatorsFromArgs(["--lifetime", "soon"])).rejects.toThrow("--lifetime must be");
    await expect(startEmulatorsFromArgs(["--nope"])).rejects.toThrow();
    await expect(startEmulatorsFromArgs(["--role-arn", "arn:aws:iam::1:role/x"])).rejects.toThrow(TypeError);
  });
});

const packageDir = new URL("../", import.meta.url);
const manifest = JSON.parse(readFileSync(new URL("package.json", packageDir), "utf8")) as {
  bin: Record<string, string>;
};
/** The bin as the package declares it: what `credbridge-emulators` runs. */
const binPath = fileURLToPath(new URL(manifest.bin["credbridge-emulators"]!, packageDir));

describe("credbridge-emulators bin", () => {
  // The test command builds before it tests, so the bin is there; a missing build fails here.
  it("prints one JSON line, serves, and exits 0 on SIGTERM (needs tsc -b)", async () => {
    const child = spawn(process.execPath, [binPath, "--agent-token", "bin-token"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const firstLine = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        out += chunk;
        const newline = out.indexOf("\n");
        if (newline !== -1) resolve(out.slice(0, newline));
      });
      child.once("exit", (code) => reject(new Error(`exited early with ${code}`)));
    });
    const line = JSON.parse(firstLine) as { sts: string; agent: string; agentToken: string };
    expect(line.agentToken).toBe("bin-token");
    const response = await fetch(line.agent, { headers: { authorization: line.agentToken } });
    expect(response.status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});
