import { CredbridgeError, type CredbridgeErrorCode } from "../errors.js";

const LINE_BREAK = /[\r\n]/;
/** Anything but visible ASCII, space and tab: control characters, and every byte a client may encode its own way. */
const NOT_HEADER_SAFE = /[^\x20-\x7e\t]/;
/** HTTP's optional whitespace around a field value: receivers drop it, so it can never be part of a token. */
const EDGE_WHITESPACE = /^[ \t]+|[ \t]+$/g;

/**
 * The one rule by which credbridge's client (`fromPodIdentity`) and its
 * container-credentials server read a container authorization token, from a
 * file or a variable: one trailing newline is dropped (as `echo` or a Secret
 * volume writes it), then the spaces and tabs at either end, which no HTTP
 * header can carry (Node's parser strips them from what a client sent, so a
 * server that kept them would refuse every client). Refused, naming `where`:
 * an empty token, any other line break (boto, aws-sdk-go and Node refuse such
 * a header), and any character outside printable ASCII: clients put such a
 * token on the wire differently (Node and Python as Latin-1, Go as UTF-8), so
 * it would match for some applications and not for others.
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
  if (NOT_HEADER_SAFE.test(token)) {
    throw new CredbridgeError(
      `${where} holds a character outside printable ASCII (a control character, or a letter such as é); clients send such a token differently (Go as UTF-8, Node and Python as Latin-1), so it would match for some and not others: use printable ASCII only`,
      { code },
    );
  }
  return token;
};
