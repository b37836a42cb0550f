import { describe, expect, it } from "vitest";
import { parseAssumeRole } from "./assume-role.js";
import { parseHostPort } from "./host-port.js";
import { parseCommandLine } from "./parse.js";
import { UsageError } from "./usage-error.js";

describe("parseCommandLine", () => {
  it("lets argv win over CREDBRIDGE_* and records where each value came from", () => {
    const parsed = parseCommandLine(["write", "--role-arn", "arn:aws:iam::111122223333:role/argv"], {
      CREDBRIDGE_ROLE_ARN: "arn:aws:iam::111122223333:role/env",
      CREDBRIDGE_PROFILE: "legacy",
      CREDBRIDGE_DURATION: "1800",
    });
    expect(parsed.flags).toMatchObject({
      "role-arn": "arn:aws:iam::111122223333:role/argv",
      profile: "legacy",
      duration: 1800,
    });
    expect(parsed.origins).toMatchObject({ "role-arn": "argv", profile: "CREDBRIDGE_PROFILE" });
  });

  it.each([
    [
      ["write", "--role-arn", "arn:aws:iam::123456789012:role/*/registry"],
      {},
      /^--role-arn "arn:[^"]*" is not a role ARN .*wildcards/,
    ],
    [
      ["serve"],
      { CREDBRIDGE_ROLE_ARN: `arn:aws:iam::123456789012:role/${"$"}{aws:PrincipalTag/team}/r` },
      /^CREDBRIDGE_ROLE_ARN "arn:.*" is not a role ARN/,
    ],
    [
      ["permission-policy", "--role-arn", "arn:aws:iam::123456789012:role/?/r"],
      {},
      /^--role-arn .* no \* \? or \$/,
    ],
    [["doctor", "--role-arn", "harbor"], {}, /^--role-arn "harbor" is not a role ARN/],
  ])(
    "refuses a role ARN with a wildcard or policy variable, naming where it came from: %j %j",
    (argv, env, message) => {
      expect(() => parseCommandLine(argv, env)).toThrow(message);
    },
  );

  it("reads string variables without the white space around them, as booleans and lists are read", () => {
    const parsed = parseCommandLine(["write"], {
      CREDBRIDGE_FILE_OWNER: "10000:10000\n",
      CREDBRIDGE_CREDENTIALS_FILE: " /shared/credentials\r\n",
      CREDBRIDGE_SELF_ASSUME: "true\n",
      CREDBRIDGE_DURATION: "900\n",
    });
    expect(parsed.flags).toMatchObject({
      "file-owner": "10000:10000",
      "credentials-file": "/shared/credentials",
      "self-assume": true,
      duration: 900,
    });
    expect(() => parseCommandLine(["write"], { CREDBRIDGE_PROFILE: " \n" })).toThrow(
      /^CREDBRIDGE_PROFILE needs a value$/,
    );
  });

  it.each([
    [
      ["write", "--file-owner", "4294967295:0"],
      {},
      '--file-owner ids must be from 0 to 4294967294, got "4294967295:0"',
    ],
    [
      ["write", "--file-owner", "99999999999999999999:1"],
      {},
      '--file-owner ids must be from 0 to 4294967294, got "99999999999999999999:1"',
    ],
    [
      ["serve"],
      { CREDBRIDGE_FILE_OWNER: "-5:0" },
      'CREDBRIDGE_FILE_OWNER must be numeric UID:GID like 10000:10000, got "-5:0"',
    ],
    [
      ["write", "--file-owner", "app:app"],
      {},
      '--file-owner must be numeric UID:GID like 10000:10000, got "app:app"',
    ],
    [
      ["write"],
      { CREDBRIDGE_FILE_MODE: "rw-r-----" },
      'CREDBRIDGE_FILE_MODE must be octal like 0600 or 0640, got "rw-r-----"',
    ],
  ])("refuses %j %j as a usage error naming the flag or variable and the limit", (argv, env, message) => {
    let thrown: unknown;
    try {
      parseCommandLine(argv, env);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    expect((thrown as Error).message).toBe(message);
  });

  it("takes the largest id chown can give", () => {
    expect(parseCommandLine(["write", "--file-owner", "4294967294:0"], {}).flags["file-owner"]).toBe(
      "4294967294:0",
    );
  });

  it("words Node's refusal of a flag's value on one line", () => {
    expect(() => parseCommandLine(["write", "--file-owner", "-1:0"], {})).toThrow(
      /^[^\n]*ambiguous\. Did you forget/,
    );
  });

  it("splits repeatable flags from env on whitespace and collects them from argv", () => {
    expect(parseCommandLine(["write"], { CREDBRIDGE_ASSUME_ROLE: " a  b\nc " }).flags["assume-role"]).toEqual(
      ["a", "b", "c"],
    );
    expect(
      parseCommandLine(["write", "--assume-role", "a", "--assume-role", "b"], {}).flags["assume-role"],
    ).toEqual(["a", "b"]);
  });

  it.each([
    ["true", true],
    ["1", true],
    ["YES", true],
    ["false", false],
    ["0", false],
    ["", false],
  ])("reads boolean %j from env as %s", (raw, value) => {
    expect(parseCommandLine(["serve"], { CREDBRIDGE_SELF_ASSUME: raw }).flags["self-assume"]).toBe(value);
  });

  it.each([
    [["write", "--nope"], /Unknown option '--nope'/],
    [["write", "extra"], /unexpected argument "extra"/],
    [["write", "--duration=-5"], /--duration must be a whole number/],
    [["write", "--profile", " "], /--profile needs a value/],
  ])("refuses %j", (argv, message) => {
    expect(() => parseCommandLine(argv as string[], {})).toThrow(message);
  });

  it("names the variable when an env value is bad", () => {
    expect(() => parseCommandLine(["write"], { CREDBRIDGE_DURATION: "1h" })).toThrow(
      /CREDBRIDGE_DURATION must be a whole number/,
    );
  });

  it("ignores CREDBRIDGE_HELP and maps help and version", () => {
    expect(parseCommandLine(["write"], { CREDBRIDGE_HELP: "1" }).flags.help).toBeUndefined();
    expect(parseCommandLine([], {}).command).toBe("help");
    expect(parseCommandLine(["--version"], {}).command).toBe("version");
  });
});

describe("parseAssumeRole", () => {
  it("reads the ARN and its options", () => {
    expect(
      parseAssumeRole(
        "arn:aws:iam::123456789012:role/t,external-id=e=1,session-name=s1,duration=900",
        "write",
      ),
    ).toEqual({
      roleArn: "arn:aws:iam::123456789012:role/t",
      externalId: "e=1",
      roleSessionName: "s1",
      durationSeconds: 900,
    });
  });

  it.each(["role/t", "arn:aws:iam::1:role/t,duration=1h", "arn:aws:iam::1:role/t,external-id="])(
    "refuses %j",
    (spec) => {
      expect(() => parseAssumeRole(spec, "write")).toThrow(UsageError);
    },
  );

  it.each([
    [
      'session-name=a"b',
      /session-name must be 2 to 64 letters, digits or any of _\+=,\.@- \(STS's RoleSessionName\), got "a\\"b"/,
    ],
    ["session-name=s", /session-name must be 2 to 64/],
    [`session-name=${"a".repeat(500)}`, /session-name must be .*got "a{64}…" \(500 characters\)/],
    ["duration=1", /duration must be whole seconds from 900 to 43200 \(STS's AssumeRole\), got "1"/],
    ["duration=43201", /duration must be whole seconds from 900 to 43200/],
    ["external-id=x", /external-id must be 2 to 1224 .* the one given \(1 characters\) is not/],
    ["external-id=sec ret", /external-id must be 2 to 1224/],
  ])("refuses a hop STS would refuse, as parsed: %s", (option, message) => {
    const spec = `arn:aws:iam::123456789012:role/t,${option}`;
    expect(() => parseAssumeRole(spec, "serve", "--profile-assume-role p")).toThrow(message);
    expect(() => parseAssumeRole(spec, "serve")).toThrow(message);
  });

  it.each([
    "arn:aws:iam::123456789012:role/t,external-id=sec!ret",
    "arn:aws:iam::123456789012:role/t,externalid=sec!ret",
    "arn:aws:iam::123456789012:role/t,sec!ret",
    "role/t,external-id=sec!ret",
  ])("never echoes an external id in its refusal: %s", (spec) => {
    expect(() => parseAssumeRole(spec, "serve")).toThrow(UsageError);
    expect(() => parseAssumeRole(spec, "serve")).toThrow(/^(?![\s\S]*sec!ret)/);
  });
});

describe("parseHostPort", () => {
  it("reads IPv4, names and bracketed IPv6", () => {
    expect(parseHostPort("127.0.0.1:8080", "imds", "serve")).toEqual({ host: "127.0.0.1", port: 8080 });
    expect(parseHostPort("localhost:0", "imds", "serve")).toEqual({ host: "localhost", port: 0 });
    expect(parseHostPort("[::1]:9090", "metrics", "serve")).toEqual({ host: "::1", port: 9090 });
  });

  it.each(["8080", "::1:80", "host:70000", "host:"])("refuses %j", (value) => {
    expect(() => parseHostPort(value, "imds", "serve")).toThrow(/--imds must be HOST:PORT/);
  });
});
