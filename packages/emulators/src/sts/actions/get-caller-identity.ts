import { el } from "../../internal/xml.js";
import type { ActionHandler } from "./context.js";

/** `GetCallerIdentity`: who signed the request. */
export const getCallerIdentity: ActionHandler = (context) => {
  const caller = context.caller();
  return [el("Arn", caller.arn), el("UserId", caller.userId), el("Account", caller.accountId)];
};
