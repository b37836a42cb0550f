import { writeFile } from "node:fs/promises";
import {
  mintWebIdentityToken,
  type StartStsEmulatorOptions,
  type StsEmulator,
  startStsEmulator,
} from "@credbridge/emulators";
import { cleanEnv } from "./cli.js";
import { tempDir } from "./tmp.js";

export const APP_ROLE = "arn:aws:iam::111122223333:role/app";

/** An STS emulator, a temp HOME and an IRSA token file: what a pod with IRSA has. */
export const irsaFixture = async (options: StartStsEmulatorOptions = {}) => {
  const sts: StsEmulator = await startStsEmulator(options);
  const tmp = await tempDir("credbridge-cli-");
  const tokenFile = tmp.path("token");
  await writeFile(tokenFile, mintWebIdentityToken({ sub: "system:serviceaccount:shop:app" }));
  const env = (extra: Record<string, string | undefined> = {}) =>
    cleanEnv(tmp.dir, {
      AWS_ROLE_ARN: APP_ROLE,
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL_STS: sts.url,
      ...extra,
    });
  return {
    sts,
    tmp,
    tokenFile,
    env,
    close: async () => {
      await sts.close();
      await tmp.cleanup();
    },
  };
};
