import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveFilePath } from "./resolve-path.js";

describe("resolveFilePath", () => {
  it("prefers the option, then the SDK variable, then ~/.aws", () => {
    const env = {
      AWS_SHARED_CREDENTIALS_FILE: "/env/creds",
      AWS_CONFIG_FILE: "/env/config",
      HOME: "/home/app",
    };
    expect(resolveFilePath("credentials", { path: "/opt/creds", env })).toBe("/opt/creds");
    expect(resolveFilePath("credentials", { env })).toBe("/env/creds");
    expect(resolveFilePath("config", { env })).toBe("/env/config");
    expect(resolveFilePath("credentials", { env: { HOME: "/home/app" } })).toBe("/home/app/.aws/credentials");
    expect(resolveFilePath("config", { env: {}, homedir: "/home/h" })).toBe("/home/h/.aws/config");
  });

  it("expands ~/ and makes relative paths absolute", () => {
    expect(resolveFilePath("credentials", { path: "~/x/creds", env: { HOME: "/home/app" } })).toBe(
      "/home/app/x/creds",
    );
    expect(resolveFilePath("credentials", { path: "rel/creds", env: {} })).toBe(
      join(process.cwd(), "rel/creds"),
    );
  });
});
