import { describe, expect, it } from "vitest";
import {
  AnnotationError,
  DEFAULT_CREDENTIALS_PATH,
  MAX_ANNOTATED_PROFILE_HOPS,
  MAX_ANNOTATED_PROFILES,
  MAX_ASSUME_ROLE_HOPS,
  MAX_CONTAINERS,
  parseInjectConfig,
} from "./annotations.js";

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
        "credbridge.io/outputs": "container, file,container",
        "credbridge.io/credentials-path": "/home/app/.aws/credentials",
        "credbridge.io/file-owner": "10000:2000",
        "credbridge.io/self-assume": "true",
        "credbridge.io/assume-role":
          "arn:aws:iam::111122223333:role/a\n  arn:aws:iam::444455556666:role/b,external-id=x1,duration=1800",
        "credbridge.io/containers": "worker",
      }),
    ).toEqual({
      outputs: ["container", "file"],
      credentialsPath: "/home/app/.aws/credentials",
      fileOwner: { uid: 10000, gid: 2000 },
      selfAssume: true,
      assumeRoles: [
        "arn:aws:iam::111122223333:role/a",
        "arn:aws:iam::444455556666:role/b,external-id=x1,duration=1800",
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
      /unknown annotation "credbridge\.io\/credentials-file"; credbridge reads .*credbridge\.io\/credentials-path/,
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

  it("refuses credbridge.io/file-owner with only the imds output: no file to own, and serve would refuse it", () => {
    expect(
      problemsOf({
        "credbridge.io/inject": "true",
        "credbridge.io/outputs": "imds",
        "credbridge.io/file-owner": "1001:1001",
      }),
    ).toEqual([
      expect.stringMatching(
        /^credbridge\.io\/file-owner has no file to own with credbridge\.io\/outputs "imds"/,
      ),
    ]);
    expect(
      parse({
        "credbridge.io/inject": "true",
        "credbridge.io/outputs": "imds,container",
        "credbridge.io/file-owner": "1001:1001",
      })?.fileOwner,
    ).toEqual({ uid: 1001, gid: 1001 });
  });

  it("refuses credbridge.io/containers with the imds output, naming both: every container reaches the metadata address", () => {
    for (const outputs of ["imds", "file,imds"]) {
      const problems = problemsOf({
        "credbridge.io/inject": "true",
        "credbridge.io/outputs": outputs,
        "credbridge.io/containers": "app",
      });
      expect(problems).toEqual([
        expect.stringMatching(
          /^credbridge\.io\/containers cannot hold with credbridge\.io\/outputs "imds": every container .* IMDS fallback; remove credbridge\.io\/containers or the imds output$/,
        ),
      ]);
    }
    expect(
      parse({
        "credbridge.io/inject": "true",
        "credbridge.io/outputs": "file,container",
        "credbridge.io/containers": "app",
      })?.containers,
    ).toEqual(["app"]);
  });

  it("refuses a credentials file at the container token's path when both outputs share the directory", () => {
    const problems = problemsOf({
      "credbridge.io/inject": "true",
      "credbridge.io/outputs": "file,container",
      "credbridge.io/credentials-path": "/var/run/credbridge/container-token",
    });
    expect(problems).toEqual([
      expect.stringMatching(
        /^credbridge\.io\/credentials-path "\/var\/run\/credbridge\/container-token" is where the container endpoint's token file goes/,
      ),
    ]);
    // Without the container output there is no token file to collide with.
    expect(
      parse({
        "credbridge.io/inject": "true",
        "credbridge.io/credentials-path": "/var/run/credbridge/container-token",
      })?.credentialsPath,
    ).toBe("/var/run/credbridge/container-token");
  });

  it("refuses a credbridge.io/status a pod author wrote, other than the webhook's own mark", () => {
    expect(problemsOf({ "credbridge.io/inject": "true", "credbridge.io/status": "done" })).toEqual([
      'credbridge.io/status is set by the webhook ("injected"); remove it from the pod',
    ]);
    expect(parse({ "credbridge.io/inject": "true", "credbridge.io/status": "injected" })).toBeDefined();
  });

  it("caps the names, the hops and the length of what a message quotes", () => {
    const names = Array.from({ length: MAX_CONTAINERS + 1 }, (_, i) => `c${i}`);
    expect(
      problemsOf({ "credbridge.io/inject": "true", "credbridge.io/containers": names.join(",") }),
    ).toEqual([
      `credbridge.io/containers lists ${MAX_CONTAINERS + 1} names; it takes at most ${MAX_CONTAINERS}`,
    ]);
    const hops = Array.from({ length: MAX_ASSUME_ROLE_HOPS + 1 }, () => "arn:aws:iam::111122223333:role/a");
    expect(
      problemsOf({ "credbridge.io/inject": "true", "credbridge.io/assume-role": hops.join(" ") }),
    ).toEqual([
      `credbridge.io/assume-role names ${MAX_ASSUME_ROLE_HOPS + 1} hops; it takes at most ${MAX_ASSUME_ROLE_HOPS}`,
    ]);
    const huge = "x".repeat(1_000_000);
    const problems = problemsOf({
      "credbridge.io/inject": "true",
      "credbridge.io/outputs": huge,
      "credbridge.io/assume-role": huge,
      "credbridge.io/containers": huge,
      [`credbridge.io/${huge}`]: "x",
    });
    expect(problems).toHaveLength(4);
    for (const problem of problems) expect(problem.length).toBeLessThan(600);
  });

  it("checks 40 000 names against 20 000 containers in linear time (a review of 1.4 MB took 43 s)", () => {
    const present = Array.from({ length: 20_000 }, (_, i) => `app-${i}`);
    const annotations = {
      "credbridge.io/inject": "true",
      "credbridge.io/containers": [...present, ...present].join(","),
    };
    const started = performance.now();
    expect(() => parseInjectConfig(annotations, present)).toThrow(/lists 20000 names; it takes at most/);
    // Not a benchmark: a budget two orders of magnitude above the linear cost, far below the quadratic one.
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe("credbridge.io/profiles", () => {
  const R = "arn:aws:iam::111122223333:role/registry-read";
  const H = "arn:aws:iam::111122223333:role/hop";
  const W = "arn:aws:iam::444455556666:role/registry-replica";

  it("reads named profiles, one word per hop, as serve's CREDBRIDGE_PROFILE_ASSUME_ROLE takes them", () => {
    const words = [`reader=${R}`, `replica=${H}`, `replica=${W},external-id=harbor`];
    expect(
      parse({ "credbridge.io/inject": "true", "credbridge.io/profiles": words.join("\n  ") })?.profiles,
    ).toEqual(words);
  });

  it.each([
    ["", /credbridge\.io\/profiles needs at least one NAME=ROLE-ARN/],
    [R, /credbridge\.io\/profiles: --profile-assume-role .* must be NAME=ARN/],
    [
      "reader=arn:aws:s3:::bucket",
      /credbridge\.io\/profiles: --profile-assume-role reader: "arn:aws:s3:::bucket" is not a role ARN/,
    ],
    [`default=${R}`, /"default" is the default profile's name/],
    [`a/b=${R}`, /must be NAME=ARN/],
  ])("refuses %j", (value, problem) => {
    expect(
      problemsOf({ "credbridge.io/inject": "true", "credbridge.io/profiles": value }).join("; "),
    ).toMatch(problem);
  });

  it.each([
    [
      "credbridge.io/assume-role",
      R,
      /credbridge\.io\/assume-role "arn:[^"]*": session-name must be 2 to 64/,
      'session-name=a"b',
    ],
    [
      "credbridge.io/profiles",
      `reader=${R}`,
      /credbridge\.io\/profiles: --profile-assume-role reader "arn:[^"]*": session-name must be/,
      `session-name=${"s".repeat(500)}`,
    ],
    ["credbridge.io/assume-role", R, /duration must be whole seconds from 900 to 43200/, "duration=1"],
    [
      "credbridge.io/profiles",
      `reader=${R}`,
      /duration must be whole seconds from 900 to 43200/,
      "duration=1",
    ],
    // Valid for STS, but the sidecar's --min-remaining 900 can never be met: serve would refuse it at start.
    [
      "credbridge.io/assume-role",
      R,
      /^credbridge\.io\/assume-role: --min-remaining 900 can never be met: sessions last 900 s/,
      "duration=900",
    ],
    [
      "credbridge.io/profiles",
      `reader=${R}`,
      /^credbridge\.io\/profiles reader: --min-remaining 900 can never be met/,
      "duration=900",
    ],
  ])("denies %s with a hop serve would refuse (%s)", (key, word, problem, option) => {
    expect(
      problemsOf({
        "credbridge.io/inject": "true",
        "credbridge.io/outputs": "file",
        [key]: `${word},${option}`,
      }).join("; "),
    ).toMatch(problem);
  });

  it("takes a profile of at most 10 hops, as credbridge.io/assume-role", () => {
    const ten = Array.from({ length: 10 }, () => `deep=${R}`).join(" ");
    expect(parse({ "credbridge.io/inject": "true", "credbridge.io/profiles": ten })?.profiles).toHaveLength(
      10,
    );
    expect(
      problemsOf({ "credbridge.io/inject": "true", "credbridge.io/profiles": `${ten} deep=${R}` }),
    ).toEqual([
      "credbridge.io/profiles deep names 11 hops; a profile takes at most 10, as credbridge.io/assume-role",
    ]);
  });

  it("refuses profiles with only the imds output, which serves the default profile alone", () => {
    expect(
      problemsOf({
        "credbridge.io/inject": "true",
        "credbridge.io/outputs": "imds",
        "credbridge.io/profiles": `reader=${R}`,
      }),
    ).toEqual([
      expect.stringMatching(
        /^credbridge\.io\/profiles has no output to serve its profiles with credbridge\.io\/outputs "imds": .* add "file" .* or "container" .* to credbridge\.io\/outputs/,
      ),
    ]);
    for (const outputs of ["imds,file", "container,imds", "file"]) {
      expect(
        parse({
          "credbridge.io/inject": "true",
          "credbridge.io/outputs": outputs,
          "credbridge.io/profiles": `reader=${R}`,
        })?.profiles,
      ).toEqual([`reader=${R}`]);
    }
  });

  it(`takes at most ${MAX_ANNOTATED_PROFILES} profiles and ${MAX_ANNOTATED_PROFILE_HOPS} hops`, () => {
    const many = Array.from({ length: MAX_ANNOTATED_PROFILES + 1 }, (_, i) => `p${i}=${R}`).join(" ");
    expect(problemsOf({ "credbridge.io/inject": "true", "credbridge.io/profiles": many })).toEqual([
      `credbridge.io/profiles names ${MAX_ANNOTATED_PROFILES + 1} profiles; it takes at most ${MAX_ANNOTATED_PROFILES}`,
    ]);
    const hops = Array.from({ length: MAX_ANNOTATED_PROFILE_HOPS + 1 }, () => `p=${R}`).join(" ");
    expect(problemsOf({ "credbridge.io/inject": "true", "credbridge.io/profiles": hops })).toEqual([
      `credbridge.io/profiles names ${MAX_ANNOTATED_PROFILE_HOPS + 1} hops; it takes at most ${MAX_ANNOTATED_PROFILE_HOPS}`,
    ]);
  });
});
