/**
 * `credbridge webhook`'s serving certificate as cert-manager and operators
 * make them: a wildcard name must let the API server's reviews through the
 * Host check, and a key that is not the certificate's (an RSA key beside an
 * EC certificate, which OpenSSL takes without a word) must stop the webhook at
 * start and be refused on rotation, never served as "listening".
 */
import { generateKeyPairSync } from "node:crypto";
import { rawRequest } from "@credbridge/http/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, runCli, startCli } from "../support/cli.js";
import { makeCa, SERVICE_HOST, secretVolume } from "../support/pki.js";
import { tempDir } from "../support/tmp.js";
import { admissionReview, callWebhook, responseOf, webhookArgs } from "./support/admission.js";
import { FIXTURES, readPod } from "./support/pods.js";

const RSA_KEY = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
  type: "pkcs8",
  format: "pem",
}) as string;

let tmp: Awaited<ReturnType<typeof tempDir>>;
let ca: Awaited<ReturnType<typeof makeCa>>;
beforeAll(async () => {
  tmp = await tempDir("credbridge-webhook-tls-");
  ca = await makeCa(tmp.path("ca"));
});
afterAll(() => tmp?.cleanup());

const review = () => JSON.stringify(admissionReview(readPod(`${FIXTURES}/harbor-registry-irsa.pod.yaml`)));

describe("credbridge webhook's serving certificate", () => {
  it("answers reviews for the Service name under a wildcard certificate (*.credbridge.svc), and only for names it covers", async () => {
    const volume = await secretVolume(tmp.path("wildcard"));
    const wildcard = await ca.issue(["*.credbridge.svc"]);
    await volume.write({ "tls.crt": wildcard.cert, "tls.key": wildcard.key });
    const webhook = startCli(webhookArgs(volume), cleanEnv(tmp.dir));
    try {
      const port = Number(
        new URL(String((await webhook.waitFor((l) => l.msg === "webhook listening")).url)).port,
      );
      const answer = responseOf(await callWebhook(port, ca.caBundle, review()));
      expect(answer.response).toMatchObject({ allowed: true, patchType: "JSONPatch" });
      for (const host of [
        "credbridge.svc:443",
        "a.credbridge-webhook.credbridge.svc:443",
        "attacker.example",
      ]) {
        expect((await callWebhook(port, ca.caBundle, review(), { host })).status, host).toBe(403);
      }
    } finally {
      expect((await webhook.stop()).code).toBe(0);
    }
  });

  it("exits 1 at start with a key that is not the certificate's, naming both files", async () => {
    const volume = await secretVolume(tmp.path("mismatched"));
    const pair = await ca.issue(["credbridge-webhook.credbridge.svc"]);
    await volume.write({ "tls.crt": pair.cert, "tls.key": RSA_KEY });
    const result = await runCli(webhookArgs(volume), cleanEnv(tmp.dir));
    expect(result.code).toBe(1);
    expect(result.stderr).not.toMatch(/webhook listening/);
    expect(result.stderr).toContain(
      `--tls-cert-file ${volume.certFile} and --tls-key-file ${volume.keyFile}`,
    );
    expect(result.stderr).toMatch(
      /the private key is not the certificate's \(certificate: ec key, private key: rsa\)/,
    );
    expect(result.stderr).not.toContain("PRIVATE KEY");
  });

  const refusedRotations: [string, () => Promise<{ cert: string; key: string }>, RegExp][] = [
    [
      "a key that is not the certificate's",
      async () => ({ cert: (await ca.issue([SERVICE_HOST])).cert, key: RSA_KEY }),
      /the private key is not the certificate's \(certificate: ec key, private key: rsa\)/,
    ],
    ["an expired certificate", () => ca.issue([SERVICE_HOST], -1), /: the certificate expired at \d{4}-/],
  ];
  it.each(refusedRotations)(
    "keeps serving the previous pair when a rotation brings %s, and says why",
    async (what, next, reason) => {
      const volume = await secretVolume(tmp.path(`rotation-${what.replace(/\W+/g, "-")}`));
      const first = await ca.issue([SERVICE_HOST]);
      await volume.write({ "tls.crt": first.cert, "tls.key": first.key });
      const webhook = startCli(webhookArgs(volume), cleanEnv(tmp.dir));
      try {
        const port = Number(
          new URL(String((await webhook.waitFor((l) => l.msg === "webhook listening")).url)).port,
        );
        const before = (await callWebhook(port, ca.caBundle, review())).fingerprint;
        const pair = await next();
        await volume.write({ "tls.crt": pair.cert, "tls.key": pair.key });
        // The volume swaps both files at once, yet the webhook may read the certificate before the
        // swap and the key after it: that half of a rotation is refused too (and retried), so the
        // line that counts is the one about the whole pair.
        const refused = await webhook.waitFor(
          (l) =>
            l.msg === "serving certificate not reloaded; keeping the previous one" &&
            (reason.test(String(l.error)) || !/key values mismatch/.test(String(l.error))),
        );
        expect(String(refused.error)).toMatch(reason);
        const after = await callWebhook(port, ca.caBundle, review());
        expect(after.fingerprint).toBe(before);
        expect(responseOf(after).response.allowed).toBe(true);
        expect(webhook.lines.some((l) => l.includes('"serving certificate reloaded"'))).toBe(false);
      } finally {
        expect((await webhook.stop()).code).toBe(0);
      }
    },
  );

  it("starts with an expired certificate but says so: a warning naming the file and the date, /readyz 503", async () => {
    const volume = await secretVolume(tmp.path("expired-at-start"));
    const expired = await ca.issue([SERVICE_HOST], -1);
    await volume.write({ "tls.crt": expired.cert, "tls.key": expired.key });
    const webhook = startCli(webhookArgs(volume), cleanEnv(tmp.dir));
    try {
      const warning = await webhook.waitFor(
        (l) => l.level === "warn" && /outside its dates/.test(String(l.msg)),
      );
      expect(String(warning.error)).toMatch(
        new RegExp(`^--tls-cert-file ${volume.certFile}: the certificate expired at \\d{4}-\\d\\d-\\d\\dT`),
      );
      const port = Number(
        new URL(String((await webhook.waitFor((l) => l.msg === "webhook listening")).url)).port,
      );
      const ready = await rawRequest(
        { port, tls: { rejectUnauthorized: false, servername: SERVICE_HOST } },
        `GET /readyz HTTP/1.1\r\nHost: ${SERVICE_HOST}\r\nConnection: close\r\n\r\n`,
      );
      expect(ready.status).toBe(503);
      expect(ready.body).toMatch(/expired/);
    } finally {
      expect((await webhook.stop()).code).toBe(0);
    }
  });
});
