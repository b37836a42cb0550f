import { writeFile } from "node:fs/promises";
import { mintWebIdentityToken } from "@credbridge/emulators";
import { cleanEnv, listeningUrl, startCli, type Wrap } from "../../support/cli.js";
import { APP_ROLE } from "../../support/irsa.js";
import { MIN_REMAINING_SECONDS } from "./rotations.js";

const irsaEnv = async (dir: string, stsUrl: string) => {
  const tokenFile = `${dir}/irsa-token`;
  await writeFile(tokenFile, mintWebIdentityToken({ sub: "system:serviceaccount:harbor:harbor-registry" }));
  return cleanEnv(dir, {
    AWS_ROLE_ARN: APP_ROLE,
    AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
    AWS_REGION: "us-east-1",
    AWS_ENDPOINT_URL_STS: stsUrl,
  });
};

/**
 * `credbridge serve --self-assume --credentials-file <file>` on IRSA (a web
 * identity token, the STS emulator): the sidecar of the irsa example.
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
    await irsaEnv(options.dir, options.stsUrl),
  );
  await cli.waitFor((l) => String(l.msg).includes(`${options.credentialsFile} [default] updated`));
  return cli;
};

/**
 * `credbridge serve --source web-identity --imds <host:port>` on IRSA: the
 * sidecar of the imds example. Resolves with the URL IMDS listens on.
 */
export const startImdsSidecar = async (options: {
  stsUrl: string;
  imds: string;
  dir: string;
  wrap?: Wrap;
}) => {
  const cli = startCli(
    [
      "serve",
      "--source",
      "web-identity",
      "--imds",
      options.imds,
      "--min-remaining",
      String(MIN_REMAINING_SECONDS),
    ],
    await irsaEnv(options.dir, options.stsUrl),
    options.wrap,
  );
  return { cli, url: await listeningUrl(cli, "imds") };
};
