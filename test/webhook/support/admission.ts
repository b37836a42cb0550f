import { randomUUID } from "node:crypto";
import { request } from "node:https";
import type { TLSSocket } from "node:tls";
import { SERVICE_HOST } from "../../support/pki.js";

/** `credbridge webhook` on a free loopback port, serving the certificate and key files given. */
export const webhookArgs = (tls: { certFile: string; keyFile: string }, listen = "127.0.0.1:0"): string[] => [
  "webhook",
  "--listen",
  listen,
  "--tls-cert-file",
  tls.certFile,
  "--tls-key-file",
  tls.keyFile,
];

/** An AdmissionReview v1 for CREATE, shaped as the API server sends it. */
export const admissionReview = (
  object: unknown,
  kind = { group: "", version: "v1", kind: "Pod" },
  resource = "pods",
) => ({
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  request: {
    uid: randomUUID(),
    kind,
    resource: { group: kind.group, version: kind.version, resource },
    requestKind: kind,
    requestResource: { group: kind.group, version: kind.version, resource },
    namespace: (object as { metadata?: { namespace?: string } })?.metadata?.namespace ?? "default",
    operation: "CREATE",
    userInfo: {
      username: "system:serviceaccount:kube-system:replicaset-controller",
      groups: ["system:serviceaccounts"],
    },
    object,
    oldObject: null,
    dryRun: false,
    options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
  },
});

export interface WebhookReply {
  status: number;
  body: string;
  /** SHA-256 fingerprint of the certificate the server presented. */
  fingerprint: string;
}

/**
 * One call as the API server makes it: a fresh TLS connection to the Service
 * name (SNI and Host), trusting only `caBundle`, POST <path>?timeout=10s.
 */
export const callWebhook = (
  port: number,
  caBundle: string,
  body: string | Buffer,
  /** `host`: another `Host` header on the same TLS connection to the Service name. */
  /** `chunked`: the body streamed with Transfer-Encoding: chunked instead of a Content-Length. */
  options: {
    path?: string;
    method?: string;
    host?: string;
    headers?: Record<string, string>;
    chunked?: boolean;
  } = {},
): Promise<WebhookReply> =>
  new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        servername: SERVICE_HOST,
        ca: caBundle,
        agent: false,
        method: options.method ?? "POST",
        path: options.path ?? "/mutate?timeout=10s",
        headers: {
          host: options.host ?? `${SERVICE_HOST}:443`,
          "content-type": "application/json",
          accept: "application/json, */*",
          ...options.headers,
        },
      },
      (res) => {
        const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), fingerprint }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (options.chunked) {
      req.write(body);
      req.end();
    } else req.end(body);
  });

/** The response of a 200 answer. */
export const responseOf = (reply: WebhookReply) => {
  if (reply.status !== 200) throw new Error(`the webhook answered ${reply.status}: ${reply.body}`);
  const review = JSON.parse(reply.body) as {
    apiVersion: string;
    kind: string;
    response: {
      uid: string;
      allowed: boolean;
      patchType?: string;
      patch?: string;
      status?: { code: number; message: string };
    };
  };
  return review;
};

export const decodePatch = (patch: string | undefined): unknown[] =>
  patch === undefined ? [] : (JSON.parse(Buffer.from(patch, "base64").toString("utf8")) as unknown[]);
