import { maskAccessKeyId } from "@credbridge/core";
import { prepareReply, type Reply } from "@credbridge/http";
import type { AwsCredentialIdentity, Logger } from "@smithy/types";
import type { CredentialSource, ServedCredentials } from "./credentials.js";

export interface PreparedCredentialsReply {
  /** The answer for these credentials, rendered only when they (or their served expiration) changed. */
  (served: ServedCredentials): Reply;
  /** Drops the rendered answer: what it was rendered from (the route) changed. */
  forget(): void;
}

/**
 * The credentials answer of a server, rendered (body and wire headers) once per
 * credential set and served expiration, then reused for every request.
 */
export const preparedCredentialsReply = (
  server: string,
  render: (served: ServedCredentials) => Reply,
  logger: Logger | undefined,
): PreparedCredentialsReply => {
  let last: { credentials: AwsCredentialIdentity; expiration: number; reply: Reply } | undefined;
  const reply = (served: ServedCredentials): Reply => {
    const expiration = served.expiration.getTime();
    if (last?.credentials !== served.credentials || last.expiration !== expiration) {
      last = { credentials: served.credentials, expiration, reply: prepareReply(render(served)) };
      logger?.debug?.(
        `credbridge ${server}: serving key ${maskAccessKeyId(served.credentials.accessKeyId)} until ${served.expiration.toISOString()}`,
      );
    }
    return last.reply;
  };
  return Object.assign(reply, {
    forget: () => {
      last = undefined;
    },
  });
};

/**
 * Answers from servable cached credentials synchronously, in the request's own
 * callback; only a request that must wait for a refresh takes a promise.
 */
export const answerWithCredentials = (
  source: CredentialSource,
  reply: (served: ServedCredentials) => Reply,
  failed: (error: unknown) => Reply,
): Reply | Promise<Reply> => {
  try {
    const served = source.current();
    if (served) return reply(served);
  } catch (error) {
    return failed(error);
  }
  return source.get().then(reply).catch(failed);
};
