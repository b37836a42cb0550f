import { maskAccessKeyId } from "@credbridge/core";
import type { AwsCredentialIdentity, Logger } from "@smithy/types";
import type { CredentialSupply, ServedCredentials } from "./credentials.js";

export interface PreparedCredentialsReply<R> {
  /** The answer for these credentials, rendered only when they (or their served expiration) changed. */
  (served: ServedCredentials): R;
  /** Drops the rendered answer: what it was rendered from (the route) changed. */
  forget(): void;
}

/**
 * The credentials answer of a server, rendered once per credential set and
 * served expiration, then reused for every request (a `reused` reply: the
 * HTTP core builds its wire headers once too).
 */
export const preparedCredentialsReply = <R>(
  server: string,
  render: (served: ServedCredentials) => R,
  logger: Logger | undefined,
): PreparedCredentialsReply<R> => {
  let last: { credentials: AwsCredentialIdentity; expiration: number; reply: R } | undefined;
  const reply = (served: ServedCredentials): R => {
    const expiration = served.expiration.getTime();
    if (last?.credentials !== served.credentials || last.expiration !== expiration) {
      last = { credentials: served.credentials, expiration, reply: render(served) };
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
export const answerWithCredentials = <R>(
  supply: CredentialSupply,
  reply: (served: ServedCredentials) => R,
  failed: (error: unknown) => R,
): R | Promise<R> => {
  try {
    const served = supply.current();
    if (served) return reply(served);
  } catch (error) {
    return failed(error);
  }
  return supply.get().then(reply).catch(failed);
};
