import { CredbridgeError, type CredbridgeErrorCode } from "../errors.js";

const LINE_BREAK = /[\r\n]/;
/** HTTP's optional whitespace around a field value: receivers drop it, so it can never be part of a token. */
const EDGE_WHITESPACE = /^[ \t]+|[ \t]+$/g;

/**
 * The one rule by which credbridge's client (`fromPodIdentity`) and its
 * container-credentials server read a container authorization token, from a
 * file or a variable: one trailing newline is dropped (as `echo` or a Secret
 * volume writes it), then the spaces and tabs at either end, which no HTTP
 * header can carry (Node's parser strips them from what a client sent, so a
 * server that kept them would refuse every client). Refused, naming `where`:
 * an empty token, and any other line break (boto, aws-sdk-go and Node refuse
 * such a header).
 */
export const parseAuthorizationToken = (
  raw: string,
  where: string,
  code: CredbridgeErrorCode = "ERR_TOKEN_FILE",
): string => {
  const line = raw.endsWith("\r\n") ? raw.slice(0, -2) : raw.endsWith("\n") ? raw.slice(0, -1) : raw;
  const token = line.replace(EDGE_WHITESPACE, "");
  if (!token) throw new CredbridgeError(`${where} is empty`, { code });
  if (LINE_BREAK.test(token)) {
    throw new CredbridgeError(
      `${where} holds a line break inside the token; an HTTP header cannot carry it`,
      { code },
    );
  }
  return token;
};
