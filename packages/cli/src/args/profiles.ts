import type { RoleHop } from "@credbridge/core";
import { parseRoleArn } from "@credbridge/core/wire";
import { parseAssumeRole } from "./assume-role.js";
import { UsageError } from "./usage-error.js";

/** At most this many named profiles in one process: each is an engine and an upstream call per session. */
export const MAX_PROFILES = 32;

/** A name usable as a file section, a URL path segment and a metrics label alike. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** One named profile: its role hops from the pod's one source, in order. */
export interface ProfileSpec {
  name: string;
  hops: RoleHop[];
}

/** The flag named profiles are given with. */
export const PROFILE_FLAG = "--profile-assume-role";

/** Whether `name` may name a profile (see {@link NAME}); the webhook checks its annotation with it. */
export const isProfileName = (name: string): boolean => NAME.test(name) && !name.startsWith("arn");

/**
 * `NAME=ARN[,external-id=ID][,session-name=NAME][,duration=SECONDS]`, repeatable:
 * each occurrence adds one hop to the profile it names, in the order given, so
 * `reader=arn:…:role/reader writer=arn:…:role/hop writer=arn:…:role/writer`
 * makes `reader` one hop and `writer` two. In CREDBRIDGE_PROFILE_ASSUME_ROLE the
 * same words are separated by whitespace. Profiles keep the order they first appear in.
 */
export const parseProfiles = (
  specs: readonly string[] | undefined,
  command: string,
  reserved: readonly string[] = [],
): ProfileSpec[] => {
  const profiles: ProfileSpec[] = [];
  for (const spec of specs ?? []) {
    const eq = spec.indexOf("=");
    const name = eq < 0 ? "" : spec.slice(0, eq);
    if (!isProfileName(name)) {
      throw new UsageError(
        // Quoted up to its first option: an external id is not echoed.
        `${PROFILE_FLAG} "${spec.split(",")[0]!.slice(0, 80)}" must be NAME=ARN[,external-id=ID][,session-name=NAME][,duration=SECONDS], the name of letters, digits, '.', '_' or '-' (at most 64, not starting with "arn")`,
        command,
      );
    }
    if (reserved.includes(name)) {
      throw new UsageError(
        `${PROFILE_FLAG} ${name}: "${name}" is the default profile's name (--profile), whose chain is --self-assume and --assume-role; name the profile otherwise`,
        command,
      );
    }
    const hop = parseAssumeRole(spec.slice(eq + 1), command, `${PROFILE_FLAG} ${name}`);
    // Checked whole at start: a profile's chain must not wait for STS to refuse a malformed role.
    if (!parseRoleArn(hop.roleArn)) {
      throw new UsageError(
        `${PROFILE_FLAG} ${name}: "${hop.roleArn.slice(0, 120)}" is not a role ARN (arn:aws:iam::<12-digit account>:role/<name>)`,
        command,
      );
    }
    let profile = profiles.find((p) => p.name === name);
    if (!profile) {
      profile = { name, hops: [] };
      profiles.push(profile);
      if (profiles.length > MAX_PROFILES) {
        throw new UsageError(
          `${PROFILE_FLAG} names more than ${MAX_PROFILES} profiles; run another serve for the rest`,
          command,
        );
      }
    }
    profile.hops.push(hop);
  }
  return profiles;
};
