import type { PatchOperation, Pod } from "@credbridge/cli";
import type { Operation } from "fast-json-patch";
import fastJsonPatch from "fast-json-patch";
import { Pod as PodModel } from "kubernetes-models/v1";
import { expect } from "vitest";

/** Applies the webhook's patch with a maintained RFC 6902 implementation, validating each operation. */
export const applyPatch = (pod: Pod, patch: readonly PatchOperation[]): Pod =>
  fastJsonPatch.applyPatch(structuredClone(pod), patch as Operation[], true, false).newDocument;

/** The pod passes the Kubernetes API schema (kubernetes-models' validation of core/v1 Pod). */
export const expectValidPod = (pod: Pod): void => {
  const model = new PodModel(structuredClone(pod) as ConstructorParameters<typeof PodModel>[0]);
  expect(() => model.validate()).not.toThrow();
};
