import { defineConfig } from "vitest/config";

// One runner for the whole tree: unit specs beside the code, cross-package and
// real-client tests under test/. Integration tests spawn processes and servers,
// so they get longer timeouts than unit specs.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["packages/*/src/**/*.spec.ts"],
          testTimeout: 10_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
