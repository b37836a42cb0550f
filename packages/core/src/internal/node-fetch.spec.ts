import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeFetch } from "./node-fetch.js";

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/redirect") {
      res.writeHead(302, { Location: "/ok" }).end();
    } else if (req.url === "/hang") {
      // never answers
    } else {
      res.writeHead(req.url === "/missing" ? 404 : 200, { "Content-Type": "application/json" });
      res.end(`\uFEFF{"auth":${JSON.stringify(req.headers.authorization ?? null)}}`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const get = (path: string, signal?: AbortSignal) =>
  nodeFetch(new URL(path, base), {
    headers: { Authorization: "t0ken" },
    redirect: "error",
    ...(signal ? { signal } : {}),
  });

describe("nodeFetch", () => {
  it("answers status, headers and the body as text, as fetch does (BOM dropped)", async () => {
    for (const f of [
      get,
      (p: string) =>
        globalThis.fetch(new URL(p, base), { headers: { Authorization: "t0ken" }, redirect: "error" }),
    ]) {
      const res = await f("/ok");
      expect(res.status).toBe(200);
      expect(res.ok).toBe(true);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(await res.text()).toBe('{"auth":"t0ken"}');
    }
    expect((await get("/missing")).status).toBe(404);
  });

  it("refuses a redirect with a TypeError, as fetch with redirect: error does", async () => {
    await expect(get("/redirect")).rejects.toThrow(TypeError);
    await expect(globalThis.fetch(new URL("/redirect", base), { redirect: "error" })).rejects.toThrow(
      TypeError,
    );
  });

  it("rejects with the signal's reason: a TimeoutError for AbortSignal.timeout", async () => {
    await expect(get("/hang", AbortSignal.timeout(50))).rejects.toMatchObject({ name: "TimeoutError" });
  });

  it("rejects with a TypeError when nothing listens", async () => {
    await expect(nodeFetch("http://127.0.0.1:1/", { redirect: "error" })).rejects.toThrow(TypeError);
  });
});
