import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Container, Pod } from "@credbridge/cli";

/**
 * A pod's containers laid onto this machine: each volume is a directory, each
 * container's paths are rewritten through its own mounts, and addresses the
 * pod would reach (AWS's agent at 169.254.170.2x, fixed ports that parallel
 * test runs would fight over) are rewritten through `addresses`. Only paths and
 * addresses change; every variable and argument is the patched pod's own.
 */
export const podRuntime = (pod: Pod, root: string) => {
  const volumeDir = (name: string): string => {
    if (!(pod.spec.volumes ?? []).some((v) => v.name === name)) {
      throw new Error(`the pod has no volume "${name}"`);
    }
    return join(root, "volumes", name);
  };
  const container = (name: string): Container => {
    const c = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((x) => x.name === name);
    if (!c) throw new Error(`the pod has no container "${name}"`);
    return c;
  };
  const translatePath = (c: Container, value: string): string => {
    const mount = (c.volumeMounts ?? [])
      .filter((m) => value === m.mountPath || value.startsWith(`${m.mountPath.replace(/\/$/, "")}/`))
      .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
    return mount ? volumeDir(mount.name) + value.slice(mount.mountPath.replace(/\/$/, "").length) : value;
  };
  return {
    volumeDir,
    container,
    /** Creates every volume's directory (an emptyDir starts empty; a projected one gets `files`). */
    mountVolumes: async (files: Record<string, Record<string, string>> = {}) => {
      for (const v of pod.spec.volumes ?? []) {
        await mkdir(join(root, "volumes", v.name), { recursive: true });
        for (const [file, content] of Object.entries(files[v.name] ?? {})) {
          await writeFile(join(root, "volumes", v.name, file), content);
        }
      }
    },
    /** The container's literal environment, paths and addresses translated. */
    env: (name: string, addresses: Record<string, string> = {}): Record<string, string> => {
      const c = container(name);
      const out: Record<string, string> = {};
      for (const e of c.env ?? []) {
        if (e.value === undefined) continue;
        let v = translatePath(c, e.value);
        for (const [from, to] of Object.entries(addresses)) v = v.replaceAll(from, to);
        out[e.name] = v;
      }
      return out;
    },
    args: (name: string): string[] => (container(name).args as string[] | undefined) ?? [],
  };
};
