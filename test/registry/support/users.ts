import { readFile } from "node:fs/promises";

/** The system user Debian's docker-registry package creates; the registry runs as it, like the pod's uid 10000. */
export const REGISTRY_USER = "docker-registry";

/** uid and gid of a local user, from /etc/passwd; throws naming the package when the user is missing. */
export const systemUser = async (name: string): Promise<{ uid: number; gid: number }> => {
  const line = (await readFile("/etc/passwd", "utf8")).split("\n").find((l) => l.startsWith(`${name}:`));
  if (line === undefined)
    throw new Error(`no user '${name}' in /etc/passwd: apt-get install docker-registry creates it`);
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
};
