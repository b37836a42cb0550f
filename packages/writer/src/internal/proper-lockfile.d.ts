// proper-lockfile ships no types; this declares the part the writer uses.
declare module "proper-lockfile" {
  export interface LockOptions {
    stale?: number;
    update?: number;
    realpath?: boolean;
    retries?: number | { retries?: number; factor?: number; minTimeout?: number; maxTimeout?: number };
    lockfilePath?: string;
    fs?: object;
    onCompromised?: (error: Error) => void;
  }
  export function lock(file: string, options?: LockOptions): Promise<() => Promise<void>>;
  export function lockSync(file: string, options?: Omit<LockOptions, "retries">): () => void;
}
