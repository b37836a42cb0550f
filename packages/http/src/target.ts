/** A request target reduced to its path segments, or the reason it was refused. */
export type Target = { ok: true; segments: readonly string[]; path: string } | { ok: false; reason: string };

const isControl = (c: number): boolean => c < 0x20 || c === 0x7f;

/** True when `value` holds a control character (CR, LF, NUL...): it cannot be a one-line value. */
export const hasControlCharacter = (value: string): boolean => {
  for (let i = 0; i < value.length; i++) if (isControl(value.charCodeAt(i))) return true;
  return false;
};

/** True for `/`, `\\` or a control character: a decoded segment may not smuggle one past the router. */
export const hasSeparatorOrControl = (segment: string): boolean => {
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (isControl(c) || c === 0x2f /* / */ || c === 0x5c /* \\ */) return true;
  }
  return false;
};

/**
 * Parses a raw request target (`req.url`) strictly: origin form only, the query
 * ignored, each segment percent-decoded on its own, one trailing slash allowed
 * (EC2 answers `placement/availability-zone/` as `placement/availability-zone`).
 *
 * Anything a path-normalizing proxy or file server would reinterpret is refused
 * rather than normalized: `.` and `..` segments (raw or encoded), encoded `/`
 * and `\`, backslashes, empty segments (`//`), fragments, malformed escapes.
 * The router then compares decoded segments for equality, so no input reaches a
 * route it does not name exactly.
 */
export const parseTarget = (raw: string): Target => {
  if (raw.charCodeAt(0) !== 47 /* "/" */) return { ok: false, reason: "not an origin-form path" };
  const q = raw.indexOf("?");
  const rawPath = q === -1 ? raw : raw.slice(0, q);
  if (rawPath.includes("#")) return { ok: false, reason: "fragment in the request target" };
  if (rawPath.includes("\\")) return { ok: false, reason: "backslash in the path" };
  if (rawPath === "/") return { ok: true, segments: [], path: "/" };
  const parts = rawPath.slice(1).split("/");
  if (parts[parts.length - 1] === "") parts.pop();
  const segments: string[] = [];
  for (const part of parts) {
    if (part === "") return { ok: false, reason: "empty path segment" };
    let segment = part;
    if (part.includes("%")) {
      try {
        segment = decodeURIComponent(part);
      } catch {
        return { ok: false, reason: "malformed percent-encoding" };
      }
    }
    if (segment === "." || segment === "..") return { ok: false, reason: "dot segment in the path" };
    if (hasSeparatorOrControl(segment)) return { ok: false, reason: "separator or control character" };
    segments.push(segment);
  }
  return { ok: true, segments, path: `/${segments.join("/")}` };
};
