/**
 * `setpriv` arguments that run a command as a pod's securityContext runs a
 * container: these ids, these supplementary groups only (a pod's fsGroup is
 * one), and no capabilities (`capabilities: drop: [ALL]`: none inherited, and
 * for uid 0 none gained either, the bounding set being empty).
 */
export const setprivAs = (uid: number, gid: number, groups: readonly number[] = []): string[] => [
  "--reuid",
  String(uid),
  "--regid",
  String(gid),
  ...(groups.length === 0 ? ["--clear-groups"] : ["--groups", groups.join(",")]),
  "--inh-caps=-all",
  "--bounding-set=-all",
];
