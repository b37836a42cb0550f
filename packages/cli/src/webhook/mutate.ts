import { ANNOTATIONS, AnnotationError, INJECTED, MAX_CONTAINERS, parseInjectConfig } from "./annotations.js";
import { MAX_SOURCE_VALUE, oversizedSourceValue } from "./aws-source.js";
import { clip } from "./clip.js";
import {
  type InjectDefaults,
  injectSpec,
  isInjected,
  mountConflicts,
  nameClash,
  selectedApps,
} from "./inject.js";
import { diff, type PatchOperation, pointerSegment } from "./json-patch.js";
import type { Pod } from "./pod.js";

/** What the webhook answers for one pod. */
export type Mutation =
  /** Not asked for (no `credbridge.io/inject: "true"`): allowed, untouched. */
  | { kind: "skip" }
  /** Allowed with these operations; none when the pod is already as it must be. */
  | { kind: "patch"; patch: PatchOperation[] }
  /** Refused: the message names the annotation and what it accepts. */
  | { kind: "deny"; message: string };

/**
 * The longest denial: every problem a pod can have fits, with the values it
 * quotes cut short; beyond is a pod built to make the answer (and the API
 * server's event, and the log line) large.
 */
export const MAX_DENIAL_CHARS = 4096;

const deny = (message: string): Mutation => ({
  kind: "deny",
  message: clip(`credbridge: ${message}`, MAX_DENIAL_CHARS),
});

/**
 * Pod + its annotations + the operator's defaults → the JSON Patch that injects
 * the credbridge sidecar. Pure and idempotent: the patch of an injected pod is
 * empty, which is what a reinvocation after other webhooks relies on.
 */
export const mutatePod = (pod: Pod, defaults: InjectDefaults): Mutation => {
  let config: ReturnType<typeof parseInjectConfig>;
  try {
    config = parseInjectConfig(
      pod.metadata?.annotations,
      pod.spec.containers.map((c) => c.name),
    );
  } catch (error) {
    if (error instanceof AnnotationError) return deny(error.message);
    throw error;
  }
  if (!config) return { kind: "skip" };
  const count = pod.spec.containers.length + (pod.spec.initContainers?.length ?? 0);
  if (count > MAX_CONTAINERS) {
    return deny(
      `${ANNOTATIONS.inject}: the pod has ${count} containers and init containers; credbridge injects into pods of at most ${MAX_CONTAINERS}`,
    );
  }
  const clash = nameClash(pod);
  if (clash) {
    return deny(
      `${ANNOTATIONS.inject}: the pod's ${clash.init ? "init container" : "container"} "${clash.container}" has the name of a container credbridge injects; rename it`,
    );
  }
  if (pod.spec.hostNetwork === true) {
    // The sidecar's ports and the IMDS address would be the node's, shared by every such pod on it.
    return deny(
      `${ANNOTATIONS.inject}: a pod with hostNetwork shares the node's network, where the sidecar's ports and the IMDS address would clash; remove the annotation or hostNetwork`,
    );
  }
  const oversized = oversizedSourceValue([...(pod.spec.initContainers ?? []), ...pod.spec.containers]);
  if (oversized) {
    return deny(
      `${ANNOTATIONS.inject}: container ${clip(JSON.stringify(oversized.container), 80)} sets ${oversized.name} to ${oversized.length} characters; the sidecar copies it and takes at most ${MAX_SOURCE_VALUE}`,
    );
  }
  const conflicts = mountConflicts(config, selectedApps(pod, config));
  if (conflicts.length > 0) {
    return deny(
      `${ANNOTATIONS.credentialsPath}: container(s) ${conflicts.join(", ")} already mount another volume at the credentials file's directory; choose a path in a directory of its own`,
    );
  }
  // injectPod's patch, without copying the pod's annotations to add one: the mark is one operation.
  const patch = diff(pod.spec, injectSpec(pod, config, defaults), "/spec");
  if (isInjected(pod)) return { kind: "patch", patch };
  const mark: PatchOperation = {
    op: "add",
    path: `/metadata/annotations/${pointerSegment(ANNOTATIONS.status)}`,
    value: INJECTED,
  };
  return { kind: "patch", patch: [mark, ...patch] };
};
