import { CredbridgeError } from "../errors.js";

/** STS's RoleSessionName rule: 2 to 64 of `[\w+=,.@-]`. */
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

export const validateSessionName = (name: string, where: string): string => {
  if (!SESSION_NAME.test(name)) {
    throw new CredbridgeError(
      `${where}: role session name "${name.slice(0, 80)}" is invalid: use 2 to 64 letters, digits or any of _+=,.@-`,
      { code: "ERR_CONFIG" },
    );
  }
  return name;
};

/** A valid, traceable default session name: `credbridge-<epoch ms>`. */
export const generateSessionName = (now: number): string => `credbridge-${now}`;
