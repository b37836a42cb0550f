// Bundles the CLI (dist/bin.js, from `tsc -b`) into bundle/: the entry
// `credbridge.cjs` with what every command needs, and one chunk per lazily
// loaded part (each command), so a `process` cache hit loads only its own code.
// The AWS SDK stays a dependency, imported lazily from node_modules as before:
// only the paths that call STS load it (a dynamic import(), valid in CommonJS).
//
// Why a bundle: Node's ESM loader pays per module (resolution, a module record,
// touched loader code): the ~100 modules of `serve` cost ~7 MiB more resident
// memory on Node 20 and 24 than the same code in a few chunks (see docs/benchmarks.md).
//
// Why CommonJS: the sources and dist/ stay ESM; only this shipped bin bundle is
// CommonJS (format "cjs", .cjs files, whatever the package's "type"). Even a few
// ESM chunks go through the ESM loader (defaultResolve, module records), which a
// short-lived `credbridge process` pays on every call: answered from its cache,
// it cost 1.17–1.19× `node -e 0` on Node 20/22/24 as ESM and 1.06–1.10× as
// CommonJS (hyperfine, bench/process.mjs). Issue 11 asks for ≤ 1.3× on every Node.
//
// `--standalone DIR` writes DIR/bundle with the AWS SDK inside as well (still in
// lazily loaded chunks): for the sidecar image (examples/image), which carries no
// node_modules. The same entry and options, only nothing is left external.
import { rm } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { rolldown } from "rolldown";

const cli = fileURLToPath(new URL("../", import.meta.url));
const at = process.argv.indexOf("--standalone");
const standalone = at === -1 ? undefined : process.argv[at + 1];
if (at !== -1 && !standalone) throw new Error("bundle.mjs: --standalone needs a directory");
const out = standalone ? resolve(standalone, "bundle") : `${cli}bundle`;

await rm(out, { recursive: true, force: true });
const bundle = await rolldown({
  input: { credbridge: `${cli}dist/bin.js` },
  platform: "node",
  external: standalone ? undefined : /^@aws-sdk\//,
  logLevel: "warn",
});
// Every file sits one level below the package, as in dist/: `new URL("../package.json", import.meta.url)`
// still resolves (rolldown turns import.meta.url into a URL of __filename).
await bundle.write({
  dir: out,
  format: "cjs",
  // The sources are ES modules, always strict; CommonJS output is strict only when told.
  strict: true,
  entryFileNames: "[name].cjs",
  chunkFileNames: "[name]-[hash].cjs",
});
await bundle.close();
