import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { CredbridgeError } from "../errors.js";
import { withDeadline } from "../internal/deadline.js";
import type { Runtime } from "../runtime.js";

/**
 * Calls to a source, each given up at its deadline: the caller gets
 * ERR_TIMEOUT and is free to call again. A provider cannot be cancelled, so
 * the call itself is left to finish and its result ignored; `abandoned()`
 * counts those still running.
 */
export const boundedCalls = (rt: Pick<Runtime, "setTimer">, name: string) => {
  let abandoned = 0;
  const call = (source: AwsCredentialIdentityProvider, timeoutMs: number): Promise<AwsCredentialIdentity> => {
    const running = Promise.resolve().then(() => source());
    return withDeadline(
      rt,
      timeoutMs,
      () => running,
      () => {
        abandoned++;
        const done = () => {
          abandoned--;
        };
        running.then(done, done);
        const still =
          abandoned > 1 ? `; ${abandoned - 1} earlier abandoned attempt(s) have not returned either` : "";
        return new CredbridgeError(
          `${name}: the source did not return within ${timeoutMs / 1000} s (a slow or trickling upstream); the attempt is abandoned${still}`,
          { code: "ERR_TIMEOUT" },
        );
      },
    );
  };
  return { call, abandoned: () => abandoned };
};
