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
 * key; arrays element by element while their lengths match, by appends (`/-`)
 * when `after` only adds to the end, and otherwise replaced whole (an API
 * server applies the patch to the object it sent, so a whole-array replace
 * loses nothing). Equal inputs give no operations.
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
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return after.flatMap((value, i) => (before[i] === value ? [] : diff(before[i], value, `${path}/${i}`)));
  }
  if (
    Array.isArray(before) &&
    Array.isArray(after) &&
    after.length > before.length &&
    before.every((value, i) => deepEqual(value, after[i]))
  ) {
    return after.slice(before.length).map((value) => ({ op: "add", path: `${path}/-`, value }));
  }
  return [{ op: "replace", path, value: after }];
};
