import { parse, stringify } from "ini";
import { describe, expect, it } from "vitest";
import { readSections, removeSection, upsertSection } from "./ini-merge.js";

const OTHER = [
  "# managed by hand, keep this comment",
  "[prod.eu-west-1]",
  "aws_access_key_id = AKIAOTHER",
  "aws_secret_access_key = a;b#c=d",
  "credential_process = sh -c 'fetch; echo \"{}\"' ; inline",
  "",
  "[profile with.dots]",
  "role_arn = arn:aws:iam::111111111111:role/x",
  "",
].join("\n");

describe("upsertSection", () => {
  it("appends a new profile after a blank line and keeps every other byte", () => {
    const out = upsertSection(OTHER, "default", [
      ["aws_access_key_id", "ASIANEW"],
      ["aws_secret_access_key", "s"],
    ]);
    expect(out.startsWith(OTHER)).toBe(true);
    expect(out.slice(OTHER.length)).toBe(
      "\n[default]\naws_access_key_id = ASIANEW\naws_secret_access_key = s\n",
    );
  });

  it("replaces the profile's keys in place of nothing else, case-insensitively, with continuation lines", () => {
    const text = [
      "[a]",
      "x = 1",
      "",
      "[default]",
      "region = eu-west-1",
      "AWS_Access_Key_Id = OLD",
      "aws_session_token = old-token",
      "  continued-old-token",
      "# a note",
      "aws_security_token: old-token",
      "",
      "[b]",
      "y = 2",
      "",
    ].join("\n");
    const out = upsertSection(text, "default", [["aws_access_key_id", "NEW"]], {
      remove: new Set(["aws_session_token", "aws_security_token"]),
    });
    expect(out).toBe(
      [
        "[a]",
        "x = 1",
        "",
        "[default]",
        "region = eu-west-1",
        "# a note",
        "aws_access_key_id = NEW",
        "",
        "[b]",
        "y = 2",
        "",
      ].join("\n"),
    );
  });

  it("keeps names with dots, which ini nests, as they are", () => {
    const out = upsertSection(OTHER, "prod.eu-west-1", [["aws_access_key_id", "ASIA2"]]);
    const sections = readSections(out);
    expect([...sections.keys()]).toEqual(["prod.eu-west-1", "profile with.dots"]);
    expect(sections.get("prod.eu-west-1")).toMatchObject({
      aws_access_key_id: "ASIA2",
      aws_secret_access_key: "a;b#c=d",
    });
    expect(out).toContain("[profile with.dots]\nrole_arn = arn:aws:iam::111111111111:role/x\n");
  });

  it("matches section names exactly, as botocore and the JS SDK do: [ default ] is another section, kept byte for byte", () => {
    const text = "[ default ]\naws_access_key_id = A\n";
    const out = upsertSection(text, "default", [["aws_access_key_id", "C"]]);
    expect(out).toBe("[ default ]\naws_access_key_id = A\n\n[default]\naws_access_key_id = C\n");
    expect(removeSection(out, "default")).toBe(text);
    expect(upsertSection("[profile  app]\nregion = a\n", "profile app", [["region", "b"]])).toBe(
      "[profile  app]\nregion = a\n\n[profile app]\nregion = b\n",
    );
  });

  it("keeps its section after any that aws-sdk-go v1 or botocore would read as the same profile (the last one wins there)", () => {
    const text = "[default]\naws_access_key_id = B\nregion = x\n\n[ default ]\naws_access_key_id = A\n";
    const out = upsertSection(text, "default", [["aws_access_key_id", "C"]]);
    expect(out).toBe("[ default ]\naws_access_key_id = A\n\n[default]\nregion = x\naws_access_key_id = C\n");
    const config = '[profile app]\nregion = a\n\n[profile "app"]\nregion = q\n\n[other]\nk = v\n';
    expect(upsertSection(config, "profile app", [["region", "b"]])).toBe(
      '[profile "app"]\nregion = q\n\n[other]\nk = v\n\n[profile app]\nregion = b\n',
    );
  });

  it("writes the keys into the first of duplicate sections, and removes them from the others", () => {
    const text =
      "[default]\naws_access_key_id = A\n\n[x]\nk = v\n\n[default]\naws_access_key_id = B\nregion = x\n";
    const out = upsertSection(text, "default", [["aws_access_key_id", "C"]]);
    expect(out).toBe("[x]\nk = v\n\n[default]\nregion = x\n\n[default]\naws_access_key_id = C\n");
  });

  it("replaces a whole section when asked, keeping its comments", () => {
    const text = "[profile app]\n# why\nregion = a\nrole_arn = r\n\n[x]\nk = v\n";
    const out = upsertSection(text, "profile app", [["region", "b"]], { replaceSection: true });
    expect(out).toBe("[profile app]\n# why\nregion = b\n\n[x]\nk = v\n");
  });

  it("keeps CRLF line endings of other sections", () => {
    const text = "[a]\r\nk = v\r\n";
    expect(upsertSection(text, "b", [["k", "w"]])).toBe("[a]\r\nk = v\r\n\n[b]\nk = w\n");
  });

  it("writes into an empty or missing file", () => {
    expect(upsertSection("", "default", [["k", "v"]])).toBe("[default]\nk = v\n");
  });
});

describe("removeSection", () => {
  it("removes every copy of the profile and nothing else", () => {
    const text = "[a]\nk = 1\n\n[gone]\nk = 2\n\n[b]\nk = 3\n\n[gone]\nk = 4\n";
    expect(removeSection(text, "gone")).toBe("[a]\nk = 1\n\n[b]\nk = 3\n");
  });

  it("returns undefined when there is no such profile", () => {
    expect(removeSection("[a]\nk = 1\n", "b")).toBeUndefined();
  });
});

describe("why not ini", () => {
  // Kept as evidence for the design: these are the ways a generic INI round trip
  // would corrupt a credentials file that every AWS SDK reads verbatim.
  it("ini quotes a token containing '=' and drops what follows ';' or '#'", () => {
    expect(stringify({ default: { aws_session_token: "abc==" } }, { whitespace: true })).toContain(
      'aws_session_token = "abc=="',
    );
    expect(parse("[a]\nk = x;y\n")).toEqual({ a: { k: "x" } });
    expect(Object.keys(parse("[prod.eu]\nk = v\n"))).toEqual(["prod"]);
  });
});
