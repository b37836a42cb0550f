import type { XmlElement } from "../../internal/xml.js";
import type { CallerIdentity } from "../identity.js";
import type { IssuedCredentials, SessionStore } from "../issue.js";
import type { RoleTrust } from "../trust.js";

/** What an action handler may use: the request's parameters and the emulator's state. */
export interface ActionContext {
  params: Readonly<Record<string, string>>;
  /** Milliseconds since the epoch, from the emulator's clock. */
  now: number;
  /** The signer; throws the StsError a real STS would answer with when it is not valid. */
  caller(): CallerIdentity;
  sessions: SessionStore;
  roles: Readonly<Record<string, RoleTrust>>;
  /** OIDC issuers registered in the "account"; undefined accepts any issuer. */
  oidcProviders: readonly string[] | undefined;
  /** Seconds the session will live, given the DurationSeconds asked for. */
  lifetimeSeconds(requested: number | undefined): number;
  /** Records credentials handed out. */
  onIssued(credentials: IssuedCredentials): void;
}

/** An action handler returns the children of its `<{Action}Result>`. */
export type ActionHandler = (context: ActionContext) => XmlElement[];
