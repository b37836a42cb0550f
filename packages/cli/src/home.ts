import { homedir } from "./builtins.js";

/**
 * The home directory: HOME, else this uid's passwd entry; undefined when there
 * is neither, as for a pod's runAsUser that the image's /etc/passwd does not name.
 */
export const homeDirectory = (env: Readonly<Record<string, string | undefined>>): string | undefined => {
  if (env.HOME) return env.HOME;
  try {
    return homedir() || undefined;
  } catch {
    return undefined;
  }
};

/** Where the SDK is told its shared config files would be when there is no home: nowhere. */
export const NO_HOME = "/nonexistent";

/**
 * Whether the AWS SDK for JavaScript needs to be given a home: it finds
 * ~/.aws/config through HOME, USERPROFILE or HOMEPATH, else asks Node's
 * os.homedir(), which throws without a passwd entry and so fails every STS
 * call. The other AWS SDKs then read no shared file; credbridge makes the
 * JavaScript SDK do the same by naming it a directory that does not exist,
 * through USERPROFILE: the one variable that SDK reads and os.homedir() does
 * not, so credbridge's own defaults under a home (the credentials file, the
 * process cache) still find none and say so.
 */
export const sdkNeedsHome = (env: Readonly<Record<string, string | undefined>>): boolean =>
  homeDirectory(env) === undefined && !env.USERPROFILE && !env.HOMEPATH;
