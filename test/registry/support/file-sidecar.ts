import { writeFile } from "node:fs/promises";
import { mintWebIdentityToken } from "@credbridge/emulators";
import { cleanEnv, startCli } from "../../support/cli.js";
import { APP_ROLE } from "../../support/irsa.js";
import { MIN_REMAINING_SECONDS } from "./rotations.js";

/**
 * `credbridge serve --self-assume --credentials-file <file>` on IRSA (a web
 * identity token, the STS emulator): the seed's sidecar for the registry.
 * Resolves once the first credentials are written.
 */
export const startFileSidecar = async (options: {
  stsUrl: string;
  credentialsFile: string;
  /** A scratch directory for the token and credbridge's HOME. */
  dir: string;
  /** `uid:gid` to chown the file to. */
  fileOwner?: string;
}) => {
  const tokenFile = `${options.dir}/irsa-token`;
  await writeFile(tokenFile, mintWebIdentityToken({ sub: "system:serviceaccount:harbor:harbor-registry" }));
  const cli = startCli(
    [
      "serve",
      "--self-assume",
      "--credentials-file",
      options.credentialsFile,
      "--min-remaining",
      String(MIN_REMAINING_SECONDS),
      ...(options.fileOwner === undefined ? [] : ["--file-owner", options.fileOwner]),
    ],
    cleanEnv(options.dir, {
      AWS_ROLE_ARN: APP_ROLE,
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL_STS: options.stsUrl,
    }),
  );
  await cli.waitFor((l) => String(l.msg).includes(`${options.credentialsFile} [default] updated`));
  return cli;
};
