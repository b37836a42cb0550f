import type { Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/**
 * The response node:http is writing on a socket: it points `socket._httpMessage`
 * at the response from the request's head until the response is finished (and
 * reads it so in its own `closeIdleConnections`). Read there rather than tracked
 * with listeners per request, which cost ~3 % of a request's CPU. `socket` is
 * the one node:http reads requests from: for HTTPS, the TLS socket.
 */
const responseOn = (socket: Socket): unknown => (socket as { _httpMessage?: unknown })._httpMessage;

/**
 * Set on a response whose request was received whole and handed to the handler.
 * On the response, not the socket: a socket holding its last response would keep
 * it alive past the next scavenge into the old generation (+15 MiB under load).
 */
const ANSWERING = Symbol("credbridge.http.answering");
type Marked = ServerResponse & { [ANSWERING]?: boolean };

/** The TCP connection a TLS socket was accepted on (node:tls keeps it as `_parent`). */
const acceptedSocketOf = (tlsSocket: Socket): Socket | undefined =>
  (tlsSocket as { _parent?: Socket | null })._parent ?? undefined;

export interface Connections {
  /** The request on `socket` was received whole and is being answered: its connection is kept at the limit. */
  answering(res: ServerResponse): void;
  /**
   * Its answer is written: a client that does not read it keeps its connection
   * no longer than any other, at the limit.
   */
  answered(res: ServerResponse): void;
  /** For `close`: cuts every connection not carrying a request, those still in their TLS handshake included. */
  cutIdle(): void;
  readonly size: number;
}

export interface ConnectionRules {
  maxConnections: number;
  /** Called when the limit closes or refuses a connection. */
  onLimit: () => void;
}

/**
 * Keeps `server`'s connections within `maxConnections` so that clients which
 * send nothing, or send slowly, cannot hold every slot: at the limit a new
 * connection closes the oldest one that is not being answered — in its TLS
 * handshake, sending its head or body, idle between requests — and is refused
 * only when every connection is being answered. An honest client's request
 * arrives within milliseconds of its connection, so the oldest such connection
 * is almost never one. No per-address cap: a webhook's clients are the API
 * server's few addresses.
 */
export const trackConnections = (server: Server, rules: ConnectionRules): Connections => {
  // Every accepted TCP connection, oldest first.
  const sockets = new Set<Socket>();
  // For HTTPS: each accepted TCP socket → the TLS socket node:http reads requests from.
  const httpSocketOf = new WeakMap<Socket, Socket>();
  const httpSocket = (accepted: Socket): Socket => httpSocketOf.get(accepted) ?? accepted;

  const isAnswering = (accepted: Socket): boolean => {
    const res = responseOn(httpSocket(accepted)) as Marked | null | undefined;
    return res?.[ANSWERING] === true;
  };

  const oldestNotAnswering = (): Socket | undefined => {
    for (const socket of sockets) if (!isAnswering(socket)) return socket;
    return undefined;
  };

  server.on("connection", (socket: Socket) => {
    if (sockets.size >= rules.maxConnections) {
      const victim = oldestNotAnswering();
      rules.onLimit();
      if (victim === undefined) {
        socket.destroy();
        return;
      }
      // Out of the set now: its close event comes later, and the next arrival must pick another.
      sockets.delete(victim);
      victim.destroy();
    }
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.on("secureConnection", (tlsSocket: Socket) => {
    const accepted = acceptedSocketOf(tlsSocket);
    if (accepted) httpSocketOf.set(accepted, tlsSocket);
  });

  return {
    answering: (res) => {
      (res as Marked)[ANSWERING] = true;
    },
    answered: (res) => {
      if ((res as Marked)[ANSWERING]) (res as Marked)[ANSWERING] = false;
    },
    cutIdle: () => {
      server.closeIdleConnections();
      for (const socket of sockets) if (responseOn(httpSocket(socket)) == null) socket.destroy();
    },
    get size() {
      return sockets.size;
    },
  };
};
