import { execFile } from "node:child_process";
import { mkdir, readFile, rename, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

const openssl = async (args: string[]): Promise<void> => {
  try {
    await run("openssl", args);
  } catch (error) {
    throw new Error(`openssl ${args[0]} failed (install Debian's openssl): ${(error as Error).message}`);
  }
};

/** A new P-256 key, unencrypted: the part of `openssl req` both certificates share. */
const NEW_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** The Service name the API server calls, as in examples/kubernetes/webhook. */
export const SERVICE_HOST = "credbridge-webhook.credbridge.svc";

/** A CA made by the test with the openssl CLI; `caBundle` is what the MutatingWebhookConfiguration carries. */
export const makeCa = async (dir: string) => {
  await mkdir(dir, { recursive: true });
  const key = join(dir, "ca.key");
  const cert = join(dir, "ca.crt");
  await openssl([
    "req",
    "-x509",
    ...NEW_KEY,
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "2",
    "-subj",
    "/CN=credbridge-webhook-test-ca",
  ]);
  let serial = 0;
  return {
    caBundle: await readFile(cert, "utf8"),
    /**
     * A serving certificate for `names` (DNS names and IPs), signed by this CA:
     * `{ cert, key }` PEM. `days: -1` makes one that expired a day ago.
     */
    issue: async (names: string[], days = 1): Promise<{ cert: string; key: string }> => {
      serial += 1;
      const base = join(dir, `serving-${serial}`);
      await openssl([
        "req",
        ...NEW_KEY,
        "-keyout",
        `${base}.key`,
        "-out",
        `${base}.csr`,
        "-subj",
        `/CN=${names[0]}`,
      ]);
      const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
      await writeFile(`${base}.ext`, `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
      await openssl([
        "x509",
        "-req",
        "-in",
        `${base}.csr`,
        "-CA",
        cert,
        "-CAkey",
        key,
        "-set_serial",
        String(1000 + serial),
        "-days",
        String(days),
        "-extfile",
        `${base}.ext`,
        "-out",
        `${base}.crt`,
      ]);
      return { cert: await readFile(`${base}.crt`, "utf8"), key: await readFile(`${base}.key`, "utf8") };
    },
  };
};

/**
 * A directory laid out as the kubelet lays out a Secret volume: `tls.crt` and
 * `tls.key` are symlinks through `..data`, a symlink to a timestamped directory
 * that is swapped atomically on each update (which is how cert-manager's
 * renewal reaches a pod).
 */
export const secretVolume = async (dir: string) => {
  await mkdir(dir, { recursive: true });
  let generation = 0;
  const write = async (files: Record<string, string>) => {
    generation += 1;
    const version = `..2026_12_01_${generation}`;
    await mkdir(join(dir, version));
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, version, name), content);
    await symlink(version, join(dir, "..data_tmp"));
    await rename(join(dir, "..data_tmp"), join(dir, "..data"));
    if (generation === 1) {
      for (const name of Object.keys(files)) await symlink(join("..data", name), join(dir, name));
    }
  };
  return { certFile: join(dir, "tls.crt"), keyFile: join(dir, "tls.key"), write };
};
