import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { buildHarborRegistry, VENDORED_SDK_VERSION } from "../../support/distribution.js";

const run = promisify(execFile);

/** Debian's docker-registry: distribution 2.8.2, rebuilt by Debian against its aws-sdk-go. */
const DEBIAN_REGISTRY = "/usr/bin/docker-registry";

/** One registry binary under test, and what its aws-sdk-go can do. */
export interface RegistryBuild {
  /** In test names and the figures' `build` field. */
  name: string;
  /** The aws-sdk-go version it is built with, as its S3 requests' User-Agent says `aws-sdk-go/<version>`. */
  sdkVersion: string;
  /** Asks IMDSv2 tokens (aws-sdk-go 1.25.38 and newer); older SDKs speak IMDSv1 only. */
  imdsV2: boolean;
  /** Reads AWS_EC2_METADATA_SERVICE_ENDPOINT (aws-sdk-go 1.34.14 and newer); older SDKs ask 169.254.169.254. */
  followsMetadataEndpointVariable: boolean;
  /** The binary's path, built first when it has to be. Throws, naming the fix, when it cannot be had. */
  binary(): Promise<string>;
}

/** Debian's build: what `test/registry` ran before Harbor's own binary joined it. */
export const DEBIAN: RegistryBuild = {
  name: "Debian 2.8.2 (aws-sdk-go 1.44.133)",
  sdkVersion: "1.44.133",
  imdsV2: true,
  followsMetadataEndpointVariable: true,
  binary: async () => {
    if (!existsSync(DEBIAN_REGISTRY)) {
      throw new Error(`${DEBIAN_REGISTRY} is missing: apt-get install docker-registry`);
    }
    // Debian records the SDK it linked in: the figures must not name a version the binary lacks.
    // dpkg-query's own field syntax, not a template: `${Built-Using}`.
    const { stdout } = await run("dpkg-query", ["-W", "-f", "$" + "{Built-Using}", "docker-registry"]);
    const linked = /golang-github-aws-aws-sdk-go \(= ([0-9.]+)-/.exec(stdout)?.[1];
    if (linked !== DEBIAN.sdkVersion) {
      throw new Error(
        `docker-registry is built with aws-sdk-go ${linked ?? "unknown"}, not ${DEBIAN.sdkVersion}`,
      );
    }
    return DEBIAN_REGISTRY;
  },
};

/** Harbor's build: distribution v2.8.3 from the shared archive, with its vendored aws-sdk-go 1.15.11. */
export const HARBOR: RegistryBuild = {
  name: "Harbor 2.8.3 (aws-sdk-go 1.15.11)",
  sdkVersion: VENDORED_SDK_VERSION,
  imdsV2: false,
  followsMetadataEndpointVariable: false,
  binary: async () => {
    const built = await buildHarborRegistry();
    if (built.buildMs > 0) console.info(`built ${built.version} in ${built.buildMs} ms: ${built.binary}`);
    return built.binary;
  },
};

/** Every test in test/registry runs against each. */
export const REGISTRY_BUILDS: readonly RegistryBuild[] = [DEBIAN, HARBOR];
