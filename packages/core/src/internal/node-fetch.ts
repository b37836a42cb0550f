import type { IncomingMessage, RequestOptions } from "node:http";

/**
 * Node's global `fetch` for the one request shape the container-credentials
 * provider sends — a GET with plain-object headers, an abort signal and
 * `redirect: "error"`, reading the status and the body as text — done on
 * node:http (node:https for https URLs). Anything else goes to the global fetch.
 *
 * Why: the global fetch loads undici and compiles its WebAssembly HTTP parser on
 * first use, ~20 MiB of resident memory on Node 20 (~4 MiB on Node 24) in a
 * sidecar that fetches once an hour; node:http is already loaded by its servers.
 */
export const nodeFetch: typeof globalThis.fetch = (input, init) => {
  const plainHeaders =
    init?.headers === undefined ||
    (typeof init.headers === "object" && Object.getPrototypeOf(init.headers) === Object.prototype);
  if (
    (typeof input !== "string" && !(input instanceof URL)) ||
    (init?.method ?? "GET") !== "GET" ||
    init?.body != null ||
    init?.redirect !== "error" ||
    !plainHeaders
  ) {
    return globalThis.fetch(input, init);
  }
  return get(
    new URL(input),
    (init.headers as Record<string, string> | undefined) ?? {},
    init.signal ?? undefined,
  );
};

const get = async (
  url: URL,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
): Promise<Response> => {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`fetch failed: unsupported protocol ${url.protocol}`);
  }
  signal?.throwIfAborted();
  const { request } = url.protocol === "https:" ? await import("node:https") : await import("node:http");
  return new Promise<Response>((resolve, reject) => {
    const options: RequestOptions = { method: "GET", headers };
    const req = request(url, options);
    const onAbort = () => req.destroy(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const fail = (error: unknown) => {
      signal?.removeEventListener("abort", onAbort);
      // An abort surfaces as the signal's reason (a TimeoutError for AbortSignal.timeout), as with fetch.
      reject(signal?.aborted ? signal.reason : new TypeError("fetch failed", { cause: error }));
    };
    req.once("error", fail);
    req.once("response", (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location !== undefined) {
        res.resume();
        fail(new Error("unexpected redirect"));
        return;
      }
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.once("error", fail);
      res.once("end", () => {
        signal?.removeEventListener("abort", onAbort);
        resolve(
          response(
            status,
            res,
            Buffer.concat(chunks)
              .toString("utf8")
              .replace(/^\uFEFF/, ""),
          ),
        );
      });
    });
    req.end();
  });
};

/** The part of a `Response` its callers read: status, headers and the body once as text. */
const response = (status: number, res: IncomingMessage, body: string): Response =>
  ({
    status,
    statusText: res.statusMessage ?? "",
    ok: status >= 200 && status < 300,
    redirected: false,
    url: "",
    headers: {
      get: (name: string) => {
        const value = res.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(", ") : String(value);
      },
    },
    text: async () => body,
    json: async () => JSON.parse(body),
  }) as unknown as Response;
