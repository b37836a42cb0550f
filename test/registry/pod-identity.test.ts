import { chown, mkdir, stat, writeFile } from "node:fs/promises";
import { startPodIdentityAgent } from "@credbridge/emulators";
import { expect, it, vi } from "vitest";
import { cleanEnv, startCli } from "../support/cli.js";
import { APP_ROLE } from "../support/irsa.js";
import { REGISTRY_BUILDS } from "./support/builds.js";
import { registryConfigFromExample, registryEnv, startRegistry } from "./support/registry.js";
import { MIN_REMAINING_SECONDS, SESSION_SECONDS } from "./support/rotations.js";
import { expectSurvivesRotations, REGISTRY_TEST_TIMEOUT_MS, setStage } from "./support/stage.js";
import { REGISTRY_USER, systemUser } from "./support/users.js";

// Path 3: the Pod Identity example. The agent (emulated, minting sessions
// through the STS emulator so the S3 front knows them) is credbridge's source;
// credbridge writes the shared file; the registry gets the agent's variables
// too, as EKS injects them into every container, and must never use them.
it.concurrent.for(REGISTRY_BUILDS)(
  "$name: the registry on S3 with EKS Pod Identity as the source, through the file; it never calls the agent",
  { timeout: REGISTRY_TEST_TIMEOUT_MS },
  async (build, ctx) => {
    const { world, tmp, defer } = await setStage(ctx, "pod-identity");
    const agent = await startPodIdentityAgent({
      sts: world.sts,
      roleArn: APP_ROLE,
      lifetimeSeconds: SESSION_SECONDS,
    });
    defer(() => agent.close());
    const user = await systemUser(REGISTRY_USER);
    // The example's emptyDir at the registry's ~/.aws, and the projected token every container sees.
    const awsDir = tmp.path("home", "harbor", ".aws");
    await mkdir(tmp.path("home", "harbor"), { recursive: true, mode: 0o755 });
    await mkdir(awsDir, { mode: 0o750 });
    await chown(awsDir, 0, user.gid);
    const tokenFile = tmp.path("eks-pod-identity-token");
    await writeFile(tokenFile, agent.token, { mode: 0o644 });
    const podIdentityEnv = {
      AWS_CONTAINER_CREDENTIALS_FULL_URI: agent.credentialsUrl,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
    };

    const credentialsFile = `${awsDir}/credentials`;
    const credbridge = startCli(
      [
        "serve",
        "--source",
        "pod-identity",
        "--credentials-file",
        credentialsFile,
        "--file-mode",
        "0640",
        "--file-owner",
        `0:${user.gid}`,
        "--min-remaining",
        String(MIN_REMAINING_SECONDS),
      ],
      cleanEnv(tmp.dir, { ...podIdentityEnv, AWS_REGION: "us-east-1" }),
    );
    defer(() => credbridge.stop());
    await credbridge.waitFor((l) => l.msg === "credentials refreshed");
    await vi.waitFor(() => stat(credentialsFile), { timeout: 5_000, interval: 50 });

    const registry = await startRegistry({
      build,
      configFile: tmp.path("config.yml"),
      config: await registryConfigFromExample("pod-identity", world.front.url, "127.0.0.1:0"),
      env: registryEnv(tmp.path("home", "harbor"), {
        AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
        ...podIdentityEnv,
      }),
      uid: user.uid,
      gid: user.gid,
    });
    defer(() => registry.stop());

    // Every signer is a session the agent handed to credbridge.
    await expectSurvivesRotations({
      path: "Pod Identity → file",
      build,
      world,
      registry,
      workDir: tmp.path("images"),
      signers: () => agent.issued.map((c) => c.accessKeyId),
    });
    // The registry never reached the agent: every call came from credbridge (Node), one per refresh.
    expect(agent.calls.filter((c) => /aws-sdk-go|Go-http-client/.test(c.userAgent ?? ""))).toEqual([]);
    const refreshes = credbridge.lines.filter((l) => l.includes('"credentials refreshed"')).length;
    expect(agent.calls.length).toBe(refreshes);
  },
);
