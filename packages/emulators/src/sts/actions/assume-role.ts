import { children, el } from "../../internal/xml.js";
import { StsError } from "../errors.js";
import { assumeRoleTrusted, checkMaxSessionDuration } from "../trust.js";
import { DEFAULT_DURATION_SECONDS, validateAssumeInput } from "../validate.js";
import type { ActionHandler } from "./context.js";
import { assumedRoleUserXml, credentialsXml, packedPolicySizeXml } from "./credentials-xml.js";

/** Role chaining caps every chained session at one hour. */
export const ROLE_CHAINING_MAX_SECONDS = 3600;

/** `AssumeRole`: signed; the signer's trust, role chaining and session limits apply. */
export const assumeRole: ActionHandler = (context) => {
  const { params } = context;
  const input = validateAssumeInput(params);
  const caller = context.caller();
  const trust = context.roles[input.roleArn];
  if (!assumeRoleTrusted(trust, input.roleArn, caller)) {
    throw new StsError(
      "AccessDenied",
      `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${input.roleArn}`,
    );
  }
  const requested = input.durationSeconds ?? DEFAULT_DURATION_SECONDS;
  if (caller.roleArn !== undefined && requested > ROLE_CHAINING_MAX_SECONDS) {
    throw new StsError(
      "ValidationError",
      "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    );
  }
  checkMaxSessionDuration(trust, requested);
  const issued = context.sessions.issue({
    roleArn: input.roleArn,
    sessionName: input.sessionName,
    lifetimeSeconds: context.lifetimeSeconds(input.durationSeconds),
    issuedBy: "AssumeRole",
    parentAccessKeyId: caller.accessKeyId,
  });
  context.onIssued(issued);
  return children(
    params.SourceIdentity === undefined ? undefined : el("SourceIdentity", params.SourceIdentity),
    assumedRoleUserXml(issued),
    credentialsXml(issued),
    packedPolicySizeXml(params),
  );
};
