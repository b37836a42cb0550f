import { clip } from "./clip.js";
import type { InjectDefaults } from "./inject.js";
import { jsonShapeProblem } from "./json-shape.js";
import { type Mutation, mutatePod } from "./mutate.js";
import type { Pod } from "./pod.js";

const API_VERSION = "admission.k8s.io/v1";
/** The API server names every review with a fresh UUID (`uuid.NewUUID()`). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/**
 * The most of a pod's name or namespace a log line carries: both are the
 * client's, and the API server checks their length only after mutating
 * webhooks ran (names are at most 253 characters).
 */
const MAX_LOGGED_NAME = 253;

/** What one AdmissionReview gets: 400 for a malformed one, or the review to send back. */
export type ReviewAnswer =
  | { status: 400; message: string }
  | {
      status: 200;
      review: { apiVersion: string; kind: "AdmissionReview"; response: Record<string, unknown> };
      /** For the log: what was done, without any of the pod's values, its names cut short. */
      summary: {
        uid: string;
        namespace: string | undefined;
        pod: string | undefined;
        outcome: "not-a-pod" | Mutation["kind"];
        operations: number;
      };
    };

/** What a review came to, for metrics: a closed set. `error` is a review not answered with an AdmissionReview. */
export type ReviewOutcome = "allowed" | "mutated" | "denied" | "error";
export const REVIEW_OUTCOMES: readonly ReviewOutcome[] = ["allowed", "mutated", "denied", "error"];

/** The outcome of a review answered with an AdmissionReview. */
export const reviewOutcome = (summary: { outcome: string; operations: number }): ReviewOutcome => {
  if (summary.outcome === "deny") return "denied";
  return summary.operations > 0 ? "mutated" : "allowed";
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const bad = (message: string): ReviewAnswer => ({ status: 400, message });

const loggable = (name: unknown): string | undefined =>
  typeof name === "string" ? clip(name, MAX_LOGGED_NAME) : undefined;

const optionalArrayOf = (v: unknown, item: (x: Record<string, unknown>) => boolean): boolean =>
  v === undefined || v === null || (Array.isArray(v) && v.every((x) => isObject(x) && item(x)));

const named = (x: Record<string, unknown>): boolean => typeof x.name === "string";

const isContainer = (c: Record<string, unknown>): boolean =>
  named(c) && optionalArrayOf(c.env, named) && optionalArrayOf(c.volumeMounts, named);

/** The shape the mutation reads; anything else about the pod is the API server's to validate. */
const looksLikePod = (v: unknown): v is Pod =>
  isObject(v) &&
  isObject(v.spec) &&
  Array.isArray(v.spec.containers) &&
  optionalArrayOf(v.spec.containers, isContainer) &&
  optionalArrayOf(v.spec.initContainers, isContainer) &&
  optionalArrayOf(v.spec.volumes, named) &&
  (v.spec.securityContext === undefined || isObject(v.spec.securityContext)) &&
  (v.metadata === undefined ||
    (isObject(v.metadata) &&
      (v.metadata.annotations === undefined ||
        (isObject(v.metadata.annotations) &&
          Object.values(v.metadata.annotations).every((a) => typeof a === "string")))));

/**
 * Answers an `admission.k8s.io/v1` AdmissionReview as the API server sends it:
 * Pods are mutated (or refused, for annotations credbridge cannot honour),
 * anything else is allowed unchanged.
 */
export const answerReview = (body: string, defaults: InjectDefaults): ReviewAnswer => {
  const tooCostly = jsonShapeProblem(body);
  if (tooCostly) return bad(`${tooCostly}; credbridge answers no review this large`);
  let review: unknown;
  try {
    review = JSON.parse(body);
  } catch {
    return bad("the body is not JSON: expected an admission.k8s.io/v1 AdmissionReview");
  }
  if (!isObject(review) || review.apiVersion !== API_VERSION || review.kind !== "AdmissionReview") {
    return bad(`expected apiVersion ${API_VERSION} and kind AdmissionReview`);
  }
  const request = review.request;
  if (!isObject(request) || typeof request.uid !== "string" || request.uid === "") {
    return bad("the AdmissionReview has no request.uid");
  }
  if (!UUID.test(request.uid)) {
    // Echoed in the answer and logged: a megabyte uid would be a megabyte answer.
    return bad(
      `request.uid must be the UUID the API server gives each review (36 characters); got ${request.uid.length} characters`,
    );
  }
  if (!isObject(request.kind) || typeof request.kind.kind !== "string") {
    return bad("the AdmissionReview has no request.kind");
  }
  const uid = request.uid;
  const namespace = typeof request.namespace === "string" ? request.namespace : undefined;
  const answer = (
    response: Record<string, unknown>,
    outcome: "not-a-pod" | Mutation["kind"],
    pod?: Pod,
    operations = 0,
  ): ReviewAnswer => ({
    status: 200,
    review: { apiVersion: API_VERSION, kind: "AdmissionReview", response: { uid, ...response } },
    summary: {
      uid,
      namespace: loggable(namespace),
      pod: loggable(pod?.metadata?.name ?? pod?.metadata?.generateName),
      outcome,
      operations,
    },
  });
  const { group, version, kind } = request.kind;
  const isPod =
    (group ?? "") === "" && version === "v1" && kind === "Pod" && request.subResource === undefined;
  if (!isPod || request.operation !== "CREATE") return answer({ allowed: true }, "not-a-pod");
  if (!looksLikePod(request.object)) return bad("request.object is not a Pod with spec.containers");
  const pod = request.object;
  const mutation = mutatePod(pod, defaults);
  if (mutation.kind === "deny") {
    return answer({ allowed: false, status: { code: 403, message: mutation.message } }, "deny", pod);
  }
  if (mutation.kind === "skip" || mutation.patch.length === 0) {
    return answer({ allowed: true }, mutation.kind, pod);
  }
  return answer(
    {
      allowed: true,
      patchType: "JSONPatch",
      patch: Buffer.from(JSON.stringify(mutation.patch)).toString("base64"),
    },
    "patch",
    pod,
    mutation.patch.length,
  );
};
