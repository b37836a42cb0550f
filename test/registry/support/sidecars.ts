import { writeFile } from "node:fs/promises";
import { mintWebIdentityToken } from "@credbridge/emulators";
import { cleanEnv, listeningUrl, startCli, type Wrap } from "../../support/cli.js";
import { APP_ROLE } from "../../support/irsa.js";
import { fetchIn, HERE, type Place } from "../../support/place.js";
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

/** What credbridge's IMDS answered, by route and status, from its `/metrics`. */
export interface ImdsRequestCount {
  path: string;
  status: number;
  n: number;
}

const imdsCounts = (metrics: string): ImdsRequestCount[] =>
  [
    ...metrics.matchAll(/^credbridge_requests_total\{server="imds",path="([^"]*)",status="(\d+)"\} (\d+)$/gm),
  ].map((m) => ({ path: m[1]!, status: Number(m[2]), n: Number(m[3]) }));

/**
 * `credbridge serve --source web-identity --imds <host:port>` on IRSA: the
 * sidecar of the imds example, with `--imds-v2-only` when asked. Resolves with
 * the URL IMDS listens on and `imdsRequests()`, read from its metrics (served
 * on loopback in the same place).
 */
export const startImdsSidecar = async (options: {
  stsUrl: string;
  imds: string;
  dir: string;
  wrap?: Wrap;
  v2Only?: boolean;
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
      "--metrics",
      "127.0.0.1:0",
      ...(options.v2Only === true ? ["--imds-v2-only"] : []),
    ],
    await irsaEnv(options.dir, options.stsUrl),
    options.wrap,
  );
  const url = await listeningUrl(cli, "imds");
  const metrics = await listeningUrl(cli, "metrics");
  const place: Place = options.wrap === undefined ? HERE : { wrap: options.wrap };
  return {
    cli,
    url,
    imdsRequests: async () => {
      const answer = await fetchIn(place, `${metrics}/metrics`);
      if (answer.status !== 200) throw new Error(`credbridge /metrics answered ${answer.status}`);
      return imdsCounts(answer.body);
    },
  };
};
