import { writeFile } from "node:fs/promises";
import {
  chainRoles,
  fromPodIdentity,
  fromWebIdentity,
  isCredbridgeError,
  selfAssume,
} from "@credbridge/core";
import {
  mintWebIdentityToken,
  type StsEmulator,
  startPodIdentityAgent,
  startStsEmulator,
} from "@credbridge/emulators";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";

const APP = "arn:aws:iam::111122223333:role/app";
const HOP1 = "arn:aws:iam::222233334444:role/bridge";
const HOP2 = "arn:aws:iam::333344445555:role/target";
const LOCKED = "arn:aws:iam::111122223333:role/no-self-trust";

let sts: StsEmulator;
let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  sts = await startStsEmulator({ roles: { [LOCKED]: { trustsSelf: false } } });
  tmp = await tempDir();
  await writeFile(tmp.path("token"), mintWebIdentityToken());
});
afterAll(async () => {
  await sts.close();
  await tmp.cleanup();
});
afterEach(() => sts.reset());

const web = (roleArn = APP) =>
  fromWebIdentity({ roleArn, tokenFile: tmp.path("token"), region: "us-east-1", stsEndpoint: sts.url });
const settings = () => ({ region: "us-east-1", stsEndpoint: sts.url });

describe("role chains against the STS emulator", () => {
  it("assumes two hops in order, each signed by the previous hop's credentials", async () => {
    const creds = await chainRoles(web(), [
      { roleArn: HOP1, externalId: "ext-1", ...settings() },
      { roleArn: HOP2, durationSeconds: 7200, ...settings() },
    ])();
    const [source, hop1, hop2] = sts.issued;
    expect(sts.calls.map((c) => [c.action, c.params.RoleArn])).toEqual([
      ["AssumeRoleWithWebIdentity", APP],
      ["AssumeRole", HOP1],
      ["AssumeRole", HOP2],
    ]);
    expect(sts.calls[1]!.accessKeyId).toBe(source!.accessKeyId);
    expect(sts.calls[1]!.sessionToken).toBe(true);
    expect(sts.calls[1]!.params.ExternalId).toBe("ext-1");
    expect(sts.calls[2]!.accessKeyId).toBe(hop1!.accessKeyId);
    expect(sts.calls[2]!.params.DurationSeconds).toBe("3600"); // capped, not refused
    expect(creds).toMatchObject({ accessKeyId: hop2!.accessKeyId, accountId: "333344445555" });
  });

  it("self-assumes the role derived from GetCallerIdentity", async () => {
    const creds = await selfAssume(web(), { ...settings(), runtime: { env: {} } })();
    expect(sts.calls.map((c) => c.action)).toEqual([
      "AssumeRoleWithWebIdentity",
      "GetCallerIdentity",
      "AssumeRole",
    ]);
    expect(sts.calls[2]!.params.RoleArn).toBe(APP);
    expect(sts.calls[2]!.accessKeyId).toBe(sts.issued[0]!.accessKeyId);
    expect(creds.accessKeyId).toBe(sts.issued[1]!.accessKeyId);
  });

  it("explains a role that does not trust itself", async () => {
    const error = await selfAssume(web(LOCKED), { ...settings(), runtime: { env: {} } })().catch(
      (e: unknown) => e,
    );
    expect(isCredbridgeError(error) && error.serviceCode).toBe("AccessDenied");
    expect((error as Error).message).toMatch(/trust policy.*its own ARN/);
  });

  it("self-assumes on top of Pod Identity credentials minted for the same STS", async () => {
    const agent = await startPodIdentityAgent({ sts, roleArn: APP, token: "agent-token" });
    try {
      const pod = fromPodIdentity({ uri: `${agent.url}/v1/credentials`, authToken: "agent-token" });
      const creds = await selfAssume(pod, { ...settings(), roleArn: APP })();
      const assume = sts.calls.find((c) => c.action === "AssumeRole")!;
      expect(assume.accessKeyId).toBe(agent.issued[0]!.accessKeyId);
      expect(creds.accessKeyId).toBe(sts.issued.at(-1)!.accessKeyId);
    } finally {
      await agent.close();
    }
  });
});

describe("fromPodIdentity against the agent emulator", () => {
  it("recovers from an agent 500 and rejects truncated, incomplete and expired answers", async () => {
    const agent = await startPodIdentityAgent({ token: "t" });
    try {
      const p = fromPodIdentity({
        uri: `${agent.url}/v1/credentials`,
        authToken: "t",
        retry: { initialDelayMs: 1 },
      });
      agent.fail({ status: 500 });
      expect((await p()).accessKeyId).toBe(agent.issued.at(-1)!.accessKeyId);
      agent.truncated();
      await expect(p()).rejects.toThrow(/not JSON/);
      agent.missingField("SecretAccessKey");
      await expect(p()).rejects.toThrow(/without SecretAccessKey/);
      const wrong = fromPodIdentity({ uri: `${agent.url}/v1/credentials`, authToken: "wrong" });
      await expect(wrong()).rejects.toThrow(/HTTP 403/);
    } finally {
      await agent.close();
    }
  });
});
