/** One RFC 6902 operation, of the kinds the webhook emits. */
export type PatchOperation =
  | { op: "add"; path: string; value: unknown }
  | { op: "replace"; path: string; value: unknown }
  | { op: "remove"; path: string };

/** RFC 6901: `~` → `~0`, `/` → `~1` (annotation keys carry slashes). */
export const pointerSegment = (key: string | number): string =>
  String(key).replaceAll("~", "~0").replaceAll("/", "~1");

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export const deepEqual = (a: unknown, b: unknown): boolean => {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
};

/**
 * The operations that turn `before` into `after`: objects are compared key by
 * key, arrays element by element (see {@link diffArray}); what cannot be
 * aligned is replaced whole. Equal inputs give no operations.
 */
export const diff = (before: unknown, after: unknown, path = ""): PatchOperation[] => {
  if (deepEqual(before, after)) return [];
  if (isObject(before) && isObject(after)) {
    const ops: PatchOperation[] = [];
    for (const key of Object.keys(before)) {
      if (!(key in after)) ops.push({ op: "remove", path: `${path}/${pointerSegment(key)}` });
    }
    for (const key of Object.keys(after)) {
      const value = after[key];
      // The same value (most of a mutated pod is the input's own objects): nothing to compare.
      if (before[key] === value) continue;
      const at = `${path}/${pointerSegment(key)}`;
      if (!(key in before)) ops.push({ op: "add", path: at, value });
      else ops.push(...diff(before[key], value, at));
    }
    return ops;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const ops = diffArray(before, after, path);
    if (ops) return ops;
  }
  return [{ op: "replace", path, value: after }];
};

/**
 * An array's elements aligned by identity: the mutation builds its result
 * from the input's own objects, so an element that is the same value stays,
 * a new one is added where it stands (`/-` at the end), one that is gone is
 * removed, and a new one where a gone one stood is compared with it (or
 * replaces it, when it is another named entry). So the
 * sidecar goes in as one `add` at `/spec/initContainers/0` instead of the
 * pod's own init containers being copied into the patch (a 3 MB argument made
 * a 3.7 MB answer). Undefined when elements moved or repeat: no alignment.
 */
const diffArray = (
  before: readonly unknown[],
  after: readonly unknown[],
  path: string,
): PatchOperation[] | undefined => {
  const inBefore = new Set(before);
  const inAfter = new Set(after);
  if (inBefore.size !== before.length || inAfter.size !== after.length) return undefined;
  const ops: PatchOperation[] = [];
  let i = 0;
  let j = 0;
  // The index in the array as the operations so far left it.
  let at = 0;
  while (i < before.length || j < after.length) {
    const b = before[i];
    const a = after[j];
    const hasB = i < before.length;
    const hasA = j < after.length;
    if (hasB && hasA && b === a) {
      i++;
      j++;
      at++;
      continue;
    }
    const gone = hasB && !inAfter.has(b);
    const added = hasA && !inBefore.has(a);
    if (gone && added) {
      // Another entry of a Kubernetes list (another container, variable) replaces it; the same one is compared.
      const sameEntry = !isObject(a) || !isObject(b) || a.name === b.name;
      ops.push(
        ...(sameEntry
          ? diff(b, a, `${path}/${at}`)
          : [{ op: "replace" as const, path: `${path}/${at}`, value: a }]),
      );
      i++;
      j++;
      at++;
    } else if (added) {
      ops.push({ op: "add", path: `${path}/${hasB ? at : "-"}`, value: a });
      j++;
      at++;
    } else if (gone) {
      ops.push({ op: "remove", path: `${path}/${at}` });
      i++;
    } else {
      return undefined;
    }
  }
  return ops;
};
