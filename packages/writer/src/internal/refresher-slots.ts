import {
  CredbridgeError,
  isRefreshingProvider,
  type RefreshingProvider,
  refreshing,
  type TimerHandle,
} from "@credbridge/core";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, Logger } from "@smithy/types";
import type { StartRefresherOptions } from "../refresher-types.js";
import type { HeldSection } from "./refresher-decision.js";
import { checkProfileName } from "./validate.js";
import type { LastError } from "./write-ledger.js";

/** One profile the refresher keeps: its engine, and what the refresher knows of its section. */
export interface Slot extends HeldSection {
  profile: string;
  engine: RefreshingProvider;
  /** Made by the refresher, so stopped with it. */
  owned: boolean;
  /** The credentials last queued for it: the same ones again are not written twice. */
  lastQueued: AwsCredentialIdentity | undefined;
  /** The last failure that concerned this profile, cleared by its next write. */
  lastError: LastError | undefined;
  /** The alarm for the expiry of what the section holds. */
  watchdog: TimerHandle | undefined;
  unsubscribe: () => void;
}

/**
 * One slot for `profile` from `provider`, then one per `options.profiles`
 * (each name checked, none twice). A plain provider is wrapped in core's
 * engine, which the refresher then owns; an engine passed in may feed other
 * outputs too (an IMDS shim): it is started, but stopping it is left to its owner.
 */
export const createSlots = (
  profile: string,
  provider: AwsCredentialIdentityProvider,
  options: StartRefresherOptions,
  logger: Logger | undefined,
): Slot[] => {
  const slotFor = (name: string, given: AwsCredentialIdentityProvider): Slot => {
    const owned = !isRefreshingProvider(given);
    const engine = !owned
      ? given
      : refreshing(given, {
          name: `credentials file ${name}`,
          ...options.refresh,
          runtime: { ...options.runtime, ...(logger ? { logger } : {}), ...options.refresh?.runtime },
        });
    return {
      profile: name,
      engine,
      owned,
      lastQueued: undefined,
      lastWriteAt: undefined,
      expirationWritten: undefined,
      lastError: undefined,
      watchdog: undefined,
      unsubscribe: () => {},
    };
  };
  const slots: Slot[] = [slotFor(profile, provider)];
  for (const extra of options.profiles ?? []) {
    const name = checkProfileName(extra.profile);
    if (slots.some((s) => s.profile === name)) {
      throw new CredbridgeError(`writer: profile ${name} is given twice to one refresher`, {
        code: "ERR_CONFIG",
      });
    }
    slots.push(slotFor(name, extra.provider));
  }
  return slots;
};

export const slotNamed = (slots: readonly Slot[], name: string): Slot =>
  slots.find((s) => s.profile === name)!;

/** Every profile written at least once: what `ready()` waits for. */
export const everyWritten = (slots: readonly Slot[]): boolean =>
  slots.every((s) => s.lastWriteAt !== undefined);
