import type { FileOwner } from "../file-options.js";
import { isMapped, type ProcessIdentity } from "./chown-identity.js";

/** Ends the reason an id is unmapped: the usual fixes (another uid, CAP_CHOWN) do not apply. */
const UNMAPPED = "; map it into the namespace (its uid_map / gid_map), or run outside one";

/**
 * Why a process cannot give the files it creates to `owner`, or undefined when
 * it can: with CAP_CHOWN (root keeps it unless it is dropped, as
 * `capabilities: drop: [ALL]` does), or as that very user, in that group or a
 * supplementary one (an owner may hand a file to its own groups).
 */
export const chownRefusal = (owner: FileOwner, who: ProcessIdentity): string | undefined => {
  // In a user namespace (rootless podman, a pod with hostUsers: false) CAP_CHOWN is the
  // namespace's, and an id it does not map cannot own a file at all: chown fails EINVAL.
  const unmapped = !isMapped(owner.uid, who.uidMap)
    ? `uid ${owner.uid} is not mapped in this process's user namespace (/proc/self/uid_map)`
    : !isMapped(owner.gid, who.gidMap)
      ? `gid ${owner.gid} is not mapped in this process's user namespace (/proc/self/gid_map)`
      : undefined;
  if (unmapped) return `${unmapped}, so no process in it, root or not, can give a file to it${UNMAPPED}`;
  const privileged = who.capChown ?? who.uid === 0;
  if (privileged) return undefined;
  const self = `this process runs as ${who.uid}:${who.gid}${who.uid === 0 ? " with CAP_CHOWN dropped" : " without CAP_CHOWN"}`;
  if (owner.uid !== who.uid) {
    return `${self}, and only root or a process with CAP_CHOWN can give a file to another user`;
  }
  if (owner.gid !== who.gid && !who.groups.includes(owner.gid)) {
    return `${self}, and is not in group ${owner.gid}, so it cannot give a file to that group`;
  }
  return undefined;
};

/** The refusal as a sentence with its fixes, for an error. */
export const chownRefusalMessage = (path: string, owner: FileOwner, reason: string): string => {
  const who = `${owner.uid}:${owner.gid}`;
  if (reason.endsWith(UNMAPPED)) {
    return (
      `credbridge: cannot give ${path} to ${who} (--file-owner): ${reason}. ` +
      `Or drop the owner and let the application's group read the file: the pod's fsGroup with mode 0640.`
    );
  }
  return (
    `credbridge: cannot give ${path} to ${who} (--file-owner): ${reason}. ` +
    `Either run the writer as ${who} (in Kubernetes: securityContext runAsUser: ${owner.uid}, runAsGroup: ${owner.gid}), ` +
    `or as root with CAP_CHOWN (runAsUser: 0; capabilities: drop: ["ALL"], add: ["CHOWN"]). ` +
    `Or drop the owner and let the application's group read the file: the pod's fsGroup with mode 0640.`
  );
};
