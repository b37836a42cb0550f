import type { SharedFileOptions } from "../file-options.js";
import { EXPIRATION_KEY } from "../write-credentials.js";
import { updateFile } from "./atomic-write.js";
import { resolveFileRequest } from "./file-request.js";
import { readSections } from "./ini-merge.js";
import { adoptedExpiry } from "./refresher-decision.js";
import type { Slot } from "./refresher-slots.js";

export interface AdoptHooks {
  stopped(): boolean;
  /** `slot` now holds the expiry of the section found there: watch it. */
  adopted(slot: Slot): void;
  /** The file could not be read (not called once stopped). */
  failed(error: Error): void;
}

/**
 * Sections of its profiles already in the file (a previous process's, before a restart)
 * are watched as if this refresher had written them: once they expire without a write
 * replacing them, the expiry is reported and, with removeExpired, the section removed
 * (still only if nobody renewed it meanwhile). Read under the lock, so it is ordered
 * with this refresher's own writes; a section it wrote already is left to that write.
 */
export const adoptSections = async (
  options: SharedFileOptions,
  slots: readonly Slot[],
  hooks: AdoptHooks,
): Promise<void> => {
  const req = resolveFileRequest("credentials", options);
  try {
    await updateFile({
      ...req,
      create: false,
      update: (current) => {
        if (current === undefined || hooks.stopped()) return undefined;
        const sections = readSections(current);
        for (const slot of slots) {
          const expiry = adoptedExpiry(slot, sections.get(slot.profile)?.[EXPIRATION_KEY]);
          if (expiry === undefined) continue;
          slot.expirationWritten = expiry;
          hooks.adopted(slot);
        }
        return undefined;
      },
    });
  } catch (error) {
    if (!hooks.stopped()) hooks.failed(error as Error);
  }
};
