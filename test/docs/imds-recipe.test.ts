/**
 * One recipe for putting 169.254.169.254 on a pod's loopback: the init
 * container and sysctl of examples/kubernetes/imds. The imds-shim README shows
 * the same, the webhook injects the same, and its command is what the tests run
 * in a network namespace (test/support/netns.ts), here twice to show it is
 * idempotent. Root is needed for the namespace: without it the test fails.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { ADDRESS_INIT_NAME, type Container, mutatePod } from "@credbridge/cli";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { imdsAddressRecipe } from "../support/imds-recipe.js";
import { createNetworkNamespace, type NetworkNamespace } from "../support/netns.js";
import { DEFAULTS, FIXTURES, readPod } from "../webhook/support/pods.js";
import { fencedBlocks, markdownSection } from "./support/markdown.js";

const run = promisify(execFile);
const recipe = imdsAddressRecipe();
const same = (c: Partial<Container> & Record<string, unknown>) => ({
  image: c.image,
  command: c.command,
  securityContext: c.securityContext,
});

let ns: NetworkNamespace | undefined;
afterAll(async () => {
  await ns?.close();
});

describe("the IMDS address recipe", () => {
  it("is the tagged image, root with NET_ADMIN only under runAsNonRoot, and port 80 for the non-root shim", () => {
    expect(recipe.init.image).toMatch(/^busybox:\d+\.\d+$/);
    expect(recipe.init.securityContext).toMatchObject({
      runAsUser: 0,
      runAsNonRoot: false,
      capabilities: { drop: ["ALL"], add: ["NET_ADMIN"] },
    });
    expect(recipe.sysctl.value).toBe("80");
  });

  it("is what the imds-shim README shows", () => {
    const readme = readFileSync(new URL("../../packages/imds-shim/README.md", import.meta.url), "utf8");
    const [block] = fencedBlocks(markdownSection(readme, "Serving at 169.254.169.254 inside a pod"), "yaml");
    const shown = parse(block!) as {
      spec: { securityContext: { sysctls: unknown[] }; initContainers: Record<string, unknown>[] };
    };
    expect(shown.spec.initContainers).toHaveLength(1);
    expect(same(shown.spec.initContainers[0]!)).toEqual(same(recipe.init));
    expect(shown.spec.initContainers[0]!.name).toBe(recipe.init.name);
    expect(shown.spec.securityContext.sysctls).toEqual([recipe.sysctl]);
  });

  it("is what the webhook injects for the imds output", () => {
    const input = readPod(`${FIXTURES}/harbor-registry-imds.pod.yaml`);
    const m = mutatePod(input, DEFAULTS);
    if (m.kind !== "patch") throw new Error(`expected a patch, got ${m.kind}`);
    const patched = JSON.stringify(m.patch);
    const inits = m.patch.flatMap((op) =>
      op.path === "/spec/initContainers" ? (op as { value: Container[] }).value : [],
    );
    const address = inits.find((c) => c.name === ADDRESS_INIT_NAME);
    expect(address, patched).toBeDefined();
    expect(same(address!)).toEqual(same(recipe.init));
    expect(patched).toContain(JSON.stringify(recipe.sysctl));
  });

  it("puts the address on loopback in a network namespace, and a second run changes nothing", async () => {
    // The namespace runs the recipe once as it is made (netns.ts); run it again, as a restarted init container would.
    ns = await createNetworkNamespace();
    const [command, args] = ns.wrap(recipe.init.command[0]!, recipe.init.command.slice(1));
    await run(command, args);
    const [ip, ipArgs] = ns.wrap("ip", ["-4", "addr", "show", "dev", "lo"]);
    const { stdout } = await run(ip, ipArgs);
    expect(stdout.match(/inet 169\.254\.169\.254\/32/g)).toHaveLength(1);
  });
});
