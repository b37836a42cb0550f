import { describe, expect, it } from "vitest";
import { AnnotationError, DEFAULT_CREDENTIALS_PATH, parseInjectConfig } from "./annotations.js";

const parse = (annotations: Record<string, string>) => parseInjectConfig(annotations, ["app", "worker"]);
const problemsOf = (annotations: Record<string, string>): readonly string[] => {
  try {
    parse(annotations);
  } catch (error) {
    if (error instanceof AnnotationError) return error.problems;
    throw error;
  }
  throw new Error("expected an AnnotationError");
};

describe("parseInjectConfig", () => {
  it('is undefined without credbridge.io/inject or with "false", whatever else is there', () => {
    expect(parse({})).toBeUndefined();
    expect(parse({ "credbridge.io/outputs": "bogus" })).toBeUndefined();
    expect(parse({ "credbridge.io/inject": "false", "credbridge.io/typo": "x" })).toBeUndefined();
  });

  it("has defaults: the file output at the default path, every container, no chain", () => {
    expect(parse({ "credbridge.io/inject": "true" })).toEqual({
      outputs: ["file"],
      credentialsPath: DEFAULT_CREDENTIALS_PATH,
      fileOwner: undefined,
      selfAssume: false,
      assumeRoles: [],
      containers: undefined,
    });
  });

  it("reads every annotation into its typed field", () => {
    expect(
      parse({
        "credbridge.io/inject": "true",
        "credbridge.io/outputs": "imds, file,imds",
        "credbridge.io/credentials-path": "/home/app/.aws/credentials",
        "credbridge.io/file-owner": "10000:2000",
        "credbridge.io/self-assume": "true",
        "credbridge.io/assume-role":
          "arn:aws:iam::111122223333:role/a\n  arn:aws:iam::444455556666:role/b,external-id=x,duration=900",
        "credbridge.io/containers": "worker",
      }),
    ).toEqual({
      outputs: ["imds", "file"],
      credentialsPath: "/home/app/.aws/credentials",
      fileOwner: { uid: 10000, gid: 2000 },
      selfAssume: true,
      assumeRoles: [
        "arn:aws:iam::111122223333:role/a",
        "arn:aws:iam::444455556666:role/b,external-id=x,duration=900",
      ],
      containers: ["worker"],
    });
  });

  it.each([
    ["credbridge.io/inject", "yes", /credbridge\.io\/inject must be "true" or "false", got "yes"/],
    ["credbridge.io/outputs", "", /credbridge\.io\/outputs must be .* of file, imds, container; got ""/],
    ["credbridge.io/outputs", "ecs", /credbridge\.io\/outputs .*got "ecs"/],
    [
      "credbridge.io/credentials-path",
      "relative/credentials",
      /credbridge\.io\/credentials-path must be an absolute/,
    ],
    ["credbridge.io/credentials-path", "/credentials", /credbridge\.io\/credentials-path/],
    ["credbridge.io/credentials-path", "/a/../b/credentials", /credbridge\.io\/credentials-path/],
    ["credbridge.io/file-owner", "app", /credbridge\.io\/file-owner must be a numeric non-root UID:GID/],
    ["credbridge.io/file-owner", "0:0", /credbridge\.io\/file-owner/],
    ["credbridge.io/self-assume", "1", /credbridge\.io\/self-assume must be "true" or "false"/],
    [
      "credbridge.io/assume-role",
      "role/x",
      /credbridge\.io\/assume-role "role\/x" must start with a role ARN/,
    ],
    ["credbridge.io/assume-role", "  ", /credbridge\.io\/assume-role needs at least one role ARN/],
    [
      "credbridge.io/containers",
      "app,sidecar",
      /credbridge\.io\/containers must list containers of this pod \(app, worker\)/,
    ],
    [
      "credbridge.io/credentials-file",
      "/x/y",
      /unknown annotation credbridge\.io\/credentials-file; credbridge reads .*credbridge\.io\/credentials-path/,
    ],
  ])("refuses %s: %j, naming it and what it accepts", (key, value, message) => {
    const problems = problemsOf({ "credbridge.io/inject": "true", [key]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it("names every problem at once", () => {
    expect(
      problemsOf({
        "credbridge.io/inject": "true",
        "credbridge.io/outputs": "x",
        "credbridge.io/self-assume": "no",
      }),
    ).toHaveLength(2);
  });
});
