import { readFile } from "node:fs/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startCli } from "../support/cli.js";
import { irsaFixture } from "../support/irsa.js";

/** What `serve` tells its clients about who the served credentials are, after a cross-account hop. */
const TARGET = "arn:aws:iam::222222222222:role/x";

let fx: Awaited<ReturnType<typeof irsaFixture>>;
beforeAll(async () => {
  fx = await irsaFixture();
});
afterAll(() => fx.close());
afterEach(() => fx.sts.reset());

const urlOf = async (cli: ReturnType<typeof startCli>, msg: string) =>
  String((await cli.waitFor((l) => l.msg === msg)).url);
const text = async (url: string, headers: Record<string, string> = {}) => {
  const res = await fetch(url, { headers });
  expect(res.status, url).toBe(200);
  return res.text();
};

describe("credbridge serve: the served identity", () => {
  it("after IRSA in 111122223333 and --assume-role into 222222222222, every output names the last hop, not AWS_ROLE_ARN", async () => {
    const tokenFile = fx.tmp.path("identity", "container-token");
    const cli = startCli(
      [
        "serve",
        "--assume-role",
        TARGET,
        "--imds",
        "127.0.0.1:0",
        "--container-endpoint",
        "127.0.0.1:0",
        "--container-auth-token-file",
        tokenFile,
      ],
      fx.env(),
    );
    try {
      const imds = await urlOf(cli, "IMDS listening");
      const container = await urlOf(cli, "container credentials endpoint listening");
      const hop = fx.sts.issued.at(-1)!;
      expect(fx.sts.calls.map((c) => c.action)).toEqual(["AssumeRoleWithWebIdentity", "AssumeRole"]);

      const body = JSON.parse(await text(container, { authorization: await readFile(tokenFile, "utf8") }));
      expect(body).toMatchObject({
        AccessKeyId: hop.accessKeyId,
        AccountId: "222222222222",
        RoleArn: TARGET,
      });

      expect(await text(`${imds}/latest/meta-data/iam/security-credentials/`)).toBe("x");
      const served = JSON.parse(await text(`${imds}/latest/meta-data/iam/security-credentials/x`));
      expect(served.AccessKeyId).toBe(hop.accessKeyId);
      const info = JSON.parse(await text(`${imds}/latest/meta-data/iam/info`));
      expect(info.InstanceProfileArn).toBe("arn:aws:iam::222222222222:instance-profile/x");
      const doc = JSON.parse(await text(`${imds}/latest/dynamic/instance-identity/document`));
      expect(doc.accountId).toBe("222222222222");
      // The source's role is nowhere in what the application sees.
      expect((await fetch(`${imds}/latest/meta-data/iam/security-credentials/app`)).status).toBe(404);
      expect(JSON.stringify([body, info, doc])).not.toContain("111122223333");
    } finally {
      await cli.stop();
    }
  });
});
