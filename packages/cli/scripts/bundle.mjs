// Bundles the CLI (dist/bin.js, from `tsc -b`) into bundle/: the entry
// `credbridge.js` with what every command needs, and one chunk per lazily
// loaded part (each command), so a `process` cache hit loads only its own code.
// The AWS SDK stays a dependency, imported lazily from node_modules as before:
// only the paths that call STS load it.
//
// Why: Node's ESM loader pays per module (resolution, a module record, touched
// loader code): the ~100 modules of `serve` cost ~7 MiB more resident memory on
// Node 20 and 24 than the same code in a few chunks (see docs/benchmarks.md).
import { rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { rolldown } from "rolldown";

const cli = fileURLToPath(new URL("../", import.meta.url));
const out = `${cli}bundle`;

await rm(out, { recursive: true, force: true });
const bundle = await rolldown({
  input: { credbridge: `${cli}dist/bin.js` },
  platform: "node",
  external: /^@aws-sdk\//,
  logLevel: "warn",
});
// Every file sits one level below the package, as in dist/: `new URL("../package.json", import.meta.url)` still resolves.
await bundle.write({ dir: out, format: "esm", chunkFileNames: "[name]-[hash].js" });
await bundle.close();
