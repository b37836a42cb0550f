import { readFileSync } from "node:fs";
import type { Socket } from "node:net";

/** An IPv4 address and port as /proc/net/tcp spells them: the address's bytes in host (little-endian) order. */
const procAddress = (address: string, port: number): string =>
  `${address
    .split(".")
    .reverse()
    .map((b) => Number(b).toString(16).padStart(2, "0"))
    .join("")}:${port.toString(16).padStart(4, "0")}`.toUpperCase();

/**
 * Whether the server has taken `client`'s connection (IPv4, this network
 * namespace) and read everything sent on it: its end is in /proc/net/tcp with
 * a socket inode (accepted, not in the listen backlog) and nothing left in its
 * receive queue. For "the server holds what this client sent", without a sleep.
 */
export const serverHasRead = (client: Socket): boolean => {
  const { localAddress, localPort, remoteAddress, remotePort } = client;
  if (!localAddress || !localPort || !remoteAddress || !remotePort) return false;
  const serverEnd = procAddress(remoteAddress, remotePort);
  const clientEnd = procAddress(localAddress, localPort);
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    // sl local rem st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …
    const [, local, remote, , queues, , , , , inode] = line.trim().split(/\s+/);
    if (local !== serverEnd || remote !== clientEnd) continue;
    return inode !== "0" && Number.parseInt(queues?.split(":")[1] ?? "", 16) === 0;
  }
  return false;
};
