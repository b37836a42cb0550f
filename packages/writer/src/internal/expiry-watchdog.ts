import { type Runtime, setWallClockTimer } from "@credbridge/core";
import type { Slot } from "./refresher-slots.js";

/**
 * (Re)arms the alarm for the expiry of what `slot`'s section holds; none for
 * credentials that never expire. An expiry is a wall-clock moment: after a
 * suspend the alarm must not wait out the time asleep. `expired` runs only if
 * the section still holds those credentials then (no write replaced them).
 */
export const watchExpiry = (
  timers: Pick<Runtime, "now" | "setTimer">,
  slot: Slot,
  expiration: Date | undefined,
  expired: (slot: Slot, expiration: Date) => void,
): void => {
  slot.watchdog?.cancel();
  slot.watchdog = undefined;
  if (expiration === undefined) return;
  slot.watchdog = setWallClockTimer(
    timers,
    expiration.getTime(),
    () => {
      if (slot.expirationWritten === expiration) expired(slot, expiration);
    },
    { unref: true },
  );
};
