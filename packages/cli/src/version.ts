import { readFileSync } from "./builtins.js";

/** This package's version: what `credbridge version` prints and the webhook's default image tag. */
export const version = (): string => {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
};
