// What an image is made from, as digests: what scripts/image.mjs keys its
// cache on. The key is the content that reaches the image, not the sources
// that usually produce it: the parts assembled on the host (the standalone
// bundle inlines the CLI, core, writer, imds-shim, http and the AWS SDK from
// node_modules, so a change in any of them changes the bytes hashed here), or,
// when the builder assembles them itself, every file the Dockerfile copies in.
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

/**
 * A digest of a directory tree: every entry's path, kind and permission bits,
 * a file's bytes, a symlink's target. Times and owners are left out: the
 * builder sets both (buildah's --timestamp, root-owned COPY).
 */
export const treeDigest = (dir, { skip = () => false } = {}) => {
  const h = createHash("sha256");
  const walk = (rel) => {
    const names = readdirSync(join(dir, rel)).sort();
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      if (skip(path, name)) continue;
      const full = join(dir, path);
      const st = lstatSync(full);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) h.update(`l\0${path}\0${mode}\0${readlinkSync(full)}\0`);
      else if (st.isDirectory()) {
        h.update(`d\0${path}\0${mode}\0`);
        walk(path);
      } else if (st.isFile()) {
        h.update(`f\0${path}\0${mode}\0${st.size}\0`).update(readFileSync(full));
      } else {
        throw new Error(`${full} is neither a file, a directory nor a symlink: not part of an image`);
      }
    }
  };
  walk("");
  return h.digest("hex");
};

/**
 * The sources a Dockerfile's COPY instructions take from the build context
 * (COPY --from=… takes from a stage, not the context), in order. Only what
 * examples/image/Dockerfile uses: plain paths, no wildcards, no ADD.
 */
export const contextSources = (dockerfile) => {
  const joined = dockerfile
    .split("\n")
    .filter((l) => !/^\s*#/.test(l))
    .join("\n")
    .replace(/\\\n/g, " ");
  const sources = [];
  for (const line of joined.split("\n")) {
    const m = /^\s*(COPY|ADD)\s+(.*)$/i.exec(line);
    if (!m) continue;
    const words = m[2].trim().split(/\s+/);
    if (m[1].toUpperCase() === "ADD")
      throw new Error("the Dockerfile uses ADD: the build cache cannot key on it");
    if (words.some((w) => w.startsWith("--from="))) continue;
    const paths = words.filter((w) => !w.startsWith("--")).slice(0, -1);
    for (const p of paths) {
      if (/[*?[]/.test(p))
        throw new Error(`the Dockerfile copies ${p}: wildcards are not keyed by the build cache`);
      sources.push(p.replace(/\/$/, ""));
    }
  }
  return sources;
};

/**
 * A matcher for the .dockerignore patterns examples/image uses: `**∕NAME`,
 * `**∕*.EXT` and a top-level NAME. Anything else is refused rather than
 * silently keyed wrong.
 */
export const ignoreMatcher = (text) => {
  const patterns = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const tests = patterns.map((p) => {
    let m = /^\*\*\/\*(\.[\w.]+)$/.exec(p);
    if (m) return (_path, name) => name.endsWith(m[1]);
    m = /^\*\*\/([\w.-]+)$/.exec(p);
    if (m) return (_path, name) => name === m[1];
    if (/^[\w.-]+$/.test(p)) return (path) => path === p;
    throw new Error(`examples/image/Dockerfile.dockerignore: the build cache cannot key on the pattern ${p}`);
  });
  return (path, name) => tests.some((t) => t(path, name));
};

/**
 * A digest of the build context as the Dockerfile sees it: each source it
 * copies, less what the .dockerignore drops.
 */
export const contextDigest = (root, dockerfile, dockerignore) => {
  const ignored = ignoreMatcher(dockerignore);
  const h = createHash("sha256");
  for (const source of contextSources(dockerfile)) {
    const full = join(root, source);
    const st = lstatSync(full);
    h.update(`${source}\0`);
    if (st.isDirectory()) {
      h.update(treeDigest(full, { skip: (path, name) => ignored(`${source}/${path}`, name) }));
    } else {
      h.update(readFileSync(full));
    }
    h.update("\0");
  }
  return h.digest("hex");
};

/** sha256 of a JSON value's text: the pieces of a key, in a fixed order. */
export const digestOf = (value) => createHash("sha256").update(JSON.stringify(value)).digest("hex");
