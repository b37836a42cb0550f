import { describe, expect, it } from "vitest";
import { MAX_PROFILES, parseProfiles } from "./profiles.js";

const A = "arn:aws:iam::111122223333:role/a";
const B = "arn:aws:iam::444455556666:role/b";

describe("parseProfiles", () => {
  it("groups hops by profile name, in the order given, each with the --assume-role options", () => {
    expect(
      parseProfiles(
        [`reader=${A}`, `writer=${A},session-name=hop`, `writer=${B},external-id=x1,duration=900`],
        "serve",
      ),
    ).toEqual([
      { name: "reader", hops: [{ roleArn: A }] },
      {
        name: "writer",
        hops: [
          { roleArn: A, roleSessionName: "hop" },
          { roleArn: B, externalId: "x1", durationSeconds: 900 },
        ],
      },
    ]);
  });

  it("refuses a word without a name, a bad name, the default profile's name, or a bad hop", () => {
    expect(() => parseProfiles([A], "serve")).toThrow(/must be NAME=ARN/);
    expect(() => parseProfiles([`a/b=${A}`], "serve")).toThrow(/must be NAME=ARN/);
    expect(() => parseProfiles([`default=${A}`], "serve", ["default"])).toThrow(/default profile's name/);
    expect(() => parseProfiles(["x=role/a"], "serve")).toThrow(
      /--profile-assume-role x "role\/a" must start with a role ARN/,
    );
    expect(() => parseProfiles([`x=${A},tags=1`], "serve")).toThrow(/is not one of external-id/);
    expect(() => parseProfiles(["x=arn:aws:iam::1:role/short-account"], "serve")).toThrow(
      /--profile-assume-role x: "arn:aws:iam::1:role\/short-account" is not a role ARN/,
    );
  });

  it(`refuses more than ${MAX_PROFILES} profiles`, () => {
    const many = Array.from({ length: MAX_PROFILES + 1 }, (_, i) => `p${i}=${A}`);
    expect(() => parseProfiles(many, "serve")).toThrow(/more than 32 profiles/);
    expect(parseProfiles(many.slice(0, MAX_PROFILES), "serve")).toHaveLength(MAX_PROFILES);
  });
});
