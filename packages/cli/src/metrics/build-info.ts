import { version } from "../version.js";
import { type Exposition, labelPairs } from "./exposition.js";

/**
 * `credbridge_build_info{version,node,command} 1`: which release, on which
 * Node line, each target runs (for dashboards, and to see a rollout through).
 */
export const buildInfo = (command: string) => {
  const pairs = labelPairs({ version: version(), node: process.versions.node, command });
  return (out: Exposition): void =>
    out.add(
      "credbridge_build_info",
      "gauge",
      "The credbridge release and Node.js version running, and the command.",
      pairs,
      1,
    );
};
