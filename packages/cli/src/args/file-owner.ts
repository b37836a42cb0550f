/**
 * The largest id chown takes: 2^32 - 1 is (uid_t)-1, "leave it unchanged" (the writer's
 * limit too, @credbridge/writer's parseOwner; checked here so the refusal names the flag
 * or its variable before anything runs).
 */
const MAX_ID = 4294967294;

const validId = (digits: string): boolean =>
  /^\d+$/.test(digits) && digits.length <= 10 && Number(digits) <= MAX_ID;

/** Why `owner` is not a `--file-owner` value, named as `where`; undefined when it is one. */
export const fileOwnerProblem = (owner: string, where: string): string | undefined => {
  const shown = JSON.stringify(owner.length > 40 ? `${owner.slice(0, 40)}…` : owner);
  const parts = owner.split(":");
  if (parts.length !== 2 || !parts.every((p) => /^\d+$/.test(p))) {
    return `${where} must be numeric UID:GID like 10000:10000, got ${shown}`;
  }
  if (!parts.every(validId)) return `${where} ids must be from 0 to ${MAX_ID}, got ${shown}`;
  return undefined;
};

/** Why `mode` is not a `--file-mode` value, named as `where`; undefined when it is one. */
export const fileModeProblem = (mode: string, where: string): string | undefined =>
  /^(?:0o)?[0-7]{3,4}$/i.test(mode)
    ? undefined
    : `${where} must be octal like 0600 or 0640, got ${JSON.stringify(mode)}`;
