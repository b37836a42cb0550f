import { chmod, chown, mkdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { fromHttp } from "@aws-sdk/credential-provider-http";
import { fromPodIdentity } from "@credbridge/core";
import { type ContainerCredentialsServer, createContainerCredentialsServer } from "@credbridge/imds-shim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";

/** The container endpoint's auth token file rotated, replaced, deleted: what its clients see. */
let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir("credbridge-faults-container-");
});
afterAll(() => tmp.cleanup());

const provider = async () => ({
  accessKeyId: "ASIACONTAINERFAULT01",
  secretAccessKey: "container-secret",
  sessionToken: "container-token",
  expiration: new Date(Date.now() + 6 * 3_600_000),
});

const serve = async (authTokenFile: string) => {
  const server: ContainerCredentialsServer = createContainerCredentialsServer({ provider, authTokenFile });
  const { url } = await server.listen();
  const clients = {
    /** credbridge's own client, as `serve --source pod-identity` uses it. */
    core: () => fromPodIdentity({ uri: url, authTokenFile, maxRetries: 0 })(),
    /** The SDK v3 client, which sends the file's bytes as they are. */
    v3: () =>
      fromHttp({ awsContainerCredentialsFullUri: url, awsContainerAuthorizationTokenFile: authTokenFile })(),
  };
  const get = async (token: string) => {
    const res = await fetch(url, { headers: { authorization: token } });
    const body = (await res.json()) as Record<string, string>;
    return { status: res.status, body };
  };
  return { server, url, get, clients };
};

describe("container endpoint auth token file", () => {
  it("rotated in place: the old token is refused, the new one accepted", async () => {
    const file = tmp.path("in-place");
    await writeFile(file, "old-token-0001\n");
    const { server, get } = await serve(file);
    try {
      expect((await get("old-token-0001")).status).toBe(200);
      await writeFile(file, "new-token-0002\n");
      expect((await get("old-token-0001")).status).toBe(403);
      const fresh = await get("new-token-0002");
      expect(fresh.status).toBe(200);
      expect(fresh.body.AccessKeyId).toBe("ASIACONTAINERFAULT01");
    } finally {
      await server.close();
    }
  });

  it("rotated by a Secret volume's ..data symlink swap: the old token is refused, the new one accepted", async () => {
    const dir = tmp.path("secret");
    await mkdir(`${dir}/..v1`, { recursive: true });
    await writeFile(`${dir}/..v1/token`, "secret-token-v1");
    await symlink("..v1", `${dir}/..data`);
    await symlink("..data/token", `${dir}/token`);
    const { server, get } = await serve(`${dir}/token`);
    try {
      expect((await get("secret-token-v1")).status).toBe(200);
      await mkdir(`${dir}/..v2`);
      await writeFile(`${dir}/..v2/token`, "secret-token-v2");
      await symlink("..v2", `${dir}/..data_tmp`);
      await rename(`${dir}/..data_tmp`, `${dir}/..data`);
      await rm(`${dir}/..v1`, { recursive: true });
      expect((await get("secret-token-v1")).status).toBe(403);
      expect((await get("secret-token-v2")).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it("50 atomic rotations under ten busy clients: a token current throughout its request is accepted, never a 500", async () => {
    const file = tmp.path("busy");
    await writeFile(file, "busy-token-0000");
    const { server, get } = await serve(file);
    try {
      // `epoch` is odd while a rotation is under way: a request that saw one even epoch throughout raced nothing.
      let epoch = 0;
      let current = "busy-token-0000";
      const statuses = new Map<number, number>();
      let stable = 0;
      let done = false;
      let sent = 0;
      let clients = 10;
      // Called when a request ran between two rotations, or a client stopped: the next rotation may go.
      let answered = () => {};
      const rotations = (async () => {
        for (let i = 1; i <= 50; i++) {
          const next = `busy-token-${String(i).padStart(4, "0")}`;
          await writeFile(`${file}.tmp`, next);
          epoch++;
          await rename(`${file}.tmp`, file);
          current = next;
          epoch++;
          // Each token is asked for before the next replaces it: rotations land among live requests.
          if (clients > 0) {
            await new Promise<void>((resolve) => {
              answered = resolve;
            });
          }
        }
        done = true;
      })();
      // Ten clients asking until the rotations are over (bounded).
      const requests = Array.from({ length: clients }, async () => {
        while (!done && sent < 5_000) {
          sent++;
          const before = epoch;
          const { status } = await get(current);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (before % 2 === 0 && epoch === before) {
            stable++;
            expect(status).toBe(200);
            answered();
          }
        }
        clients--;
        answered();
      });
      await Promise.all([rotations, ...requests]);
      expect([...statuses.keys()].filter((s) => s !== 200 && s !== 403)).toEqual([]);
      expect(stable).toBeGreaterThan(20); // the property above was exercised, not vacuous
      expect((await get(current)).status).toBe(200);
      expect((await get("busy-token-0000")).status).toBe(403);
    } finally {
      await server.close();
    }
  });

  it("deleted: every request fails with 500 and no credentials; restored: served again", async () => {
    const file = tmp.path("deleted");
    await writeFile(file, "deleted-token");
    const { server, get } = await serve(file);
    try {
      expect((await get("deleted-token")).status).toBe(200);
      await rm(file);
      for (const token of ["deleted-token", "anything", ""]) {
        const res = await get(token || "x");
        expect(res.status).toBe(500);
        expect(res.body.AccessKeyId).toBeUndefined();
        expect(res.body).toMatchObject({ Code: "InternalError" });
      }
      await writeFile(file, "restored-token\n");
      expect((await get("deleted-token")).status).toBe(403);
      expect((await get("restored-token")).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it("with spaces around the token: credbridge's client, the SDK v3 and the server read it by one rule", async () => {
    const file = tmp.path("spaced");
    // A header cannot carry edge whitespace: the SDK sends "spaced-token ", the server receives "spaced-token".
    await writeFile(file, "spaced-token ");
    const { server, get, clients } = await serve(file);
    try {
      expect((await get("spaced-token")).status).toBe(200);
      expect((await clients.v3()).accessKeyId).toBe("ASIACONTAINERFAULT01");
      expect((await clients.core()).accessKeyId).toBe("ASIACONTAINERFAULT01");
      // Written by echo: the trailing newline goes too (v3 cannot send it; core and the server agree).
      await writeFile(file, " spaced-token\t\n");
      expect((await clients.core()).accessKeyId).toBe("ASIACONTAINERFAULT01");
      expect((await get("other")).status).toBe(403);
    } finally {
      await server.close();
    }
  });

  it("emptied, or holding two lines: refused for everyone, never matched against an empty or partial token", async () => {
    const file = tmp.path("bad-content");
    await writeFile(file, "good-token");
    const { server, get } = await serve(file);
    try {
      await writeFile(file, "");
      expect((await get("good-token")).status).toBe(500);
      await writeFile(file, "line-one\nline-two\n");
      expect((await get("line-one")).status).toBe(500);
      expect((await get("line-two")).status).toBe(500);
      await writeFile(file, "good-token\n");
      expect((await get("good-token")).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it("replaced by a link to a procfs file (size 0, content without end): 500 at once, the server's memory and event loop untouched", async () => {
    const file = tmp.path("procfs");
    await writeFile(file, "procfs-token");
    const { server, url, get } = await serve(file);
    try {
      expect((await get("procfs-token")).status).toBe(200);
      await rm(file);
      await symlink("/proc/self/pagemap", file);
      const rss = process.memoryUsage().rss;
      const started = performance.now();
      const res = await fetch(url, { headers: { authorization: "x" }, signal: AbortSignal.timeout(5_000) });
      expect(res.status).toBe(500);
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 * 1024);
      await rm(file);
      await writeFile(file, "procfs-token");
      expect((await get("procfs-token")).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it("a file of another user's, or one others may write: refused, since whoever wrote it chose the token", async () => {
    expect(process.geteuid?.(), "this test gives the token file to another uid, which takes root").toBe(0);
    const file = tmp.path("owned");
    await writeFile(file, "owned-token", { mode: 0o600 });
    const { server, get } = await serve(file);
    try {
      expect((await get("owned-token")).status).toBe(200);
      await writeFile(`${file}.new`, "their-token", { mode: 0o600 });
      await chown(`${file}.new`, 4242, 4242);
      await rename(`${file}.new`, file);
      expect((await get("their-token")).status).toBe(500);
      await writeFile(`${file}.new`, "open-token", { mode: 0o666 });
      await chmod(`${file}.new`, 0o666);
      await rename(`${file}.new`, file);
      expect((await get("open-token")).status).toBe(500);
    } finally {
      await server.close();
    }
    // The user it was made for (serve --file-owner) may own it.
    await writeFile(file, "app-token", { mode: 0o600 });
    await chmod(file, 0o600);
    await chown(file, 4242, 4242);
    const app = createContainerCredentialsServer({ provider, authTokenFile: file, authTokenFileOwner: 4242 });
    const { url } = await app.listen();
    try {
      expect((await fetch(url, { headers: { authorization: "app-token" } })).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});
