import { describe, expect, it } from "vitest";
import { main } from "./main.js";
import { printable } from "./printable.js";

describe("printable", () => {
  it.each([
    ['CREDBRIDGE_X\n{"level":"info"}', 'CREDBRIDGE_X\\n{"level":"info"}'],
    ["a\u001b[2Jb\r\tc", "a\\u001b[2Jb\\r\\tc"],
    ["\u0085\u2028\u2029\u007f", "\\u0085\\u2028\\u2029\\u007f"],
    ["plain é ✓", "plain é ✓"],
  ])("escapes %j", (text, expected) => {
    expect(printable(text)).toBe(expected);
  });
});

describe("a variable's name on stderr", () => {
  // Short enough (under 64 characters) to be shown whole.
  const forged = '{"level":"info","msg":"written"}';
  const name = `CREDBRIDGE_X\n${forged}\n\u001b[2J\u001b[31mCREDBRIDGE_Y`;

  it.each([
    [["trust-policy", "--bogus"], "beside a usage error"],
    [["trust-policy", "--pod-identity"], "in the JSON log"],
  ])("%j: cannot start a line of its own or reach the terminal as an escape (%s)", async (argv) => {
    let stderr = "";
    await main({
      argv,
      env: { [name]: "v" },
      stdout: () => {},
      stderr: (t) => {
        stderr += t;
      },
    });
    expect(stderr).toContain("CREDBRIDGE_X");
    expect(stderr.split("\n")).not.toContain(forged);
    expect(stderr).not.toContain("\u001b");
  });
});
