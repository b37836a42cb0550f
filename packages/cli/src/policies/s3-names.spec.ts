import { describe, expect, it } from "vitest";
import { bucketNameProblem, prefixProblem } from "./s3-names.js";

describe("bucketNameProblem", () => {
  it.each(["registry-data", "my.bucket.example", "abc", "a1-b2", "x".repeat(63)])("accepts %s", (name) => {
    expect(bucketNameProblem(name)).toBeUndefined();
  });

  it.each([
    ["a..b", /adjacent periods/],
    ["192.168.1.1", /IP address/],
    ["xn--abc", /starts with xn--/],
    ["sthree-bucket", /starts with sthree-/],
    ["bucket-s3alias", /ends with -s3alias/],
    ["bucket--x-s3", /ends with --x-s3/],
    ["s3://bucket", /no s3:\/\//],
    ["ab", /3-63/],
    ["Bucket", /lower-case/],
    ["-bucket", /starting and ending/],
  ])("refuses %s", (name, reason) => {
    expect(bucketNameProblem(name)).toMatch(reason);
  });
});

describe("prefixProblem", () => {
  it.each(["harbor", "a/b", "team-1/harbor.v2", "it's"])("accepts %s", (prefix) => {
    expect(prefixProblem(prefix)).toBeUndefined();
  });

  it.each([
    ["..", /'\.\.' segment/],
    ["./x/../y", /'\.' or '\.\.' segment/],
    ["a/..", /segment/],
    ["a".repeat(513), /at most 512 bytes \(513 given\)/],
    ["a".repeat(100_000), /at most 512 bytes/],
    ["a*", /no '\*'/],
    [`a${"$"}{aws:username}`, /no '\*', '\?' or '\$'/],
    ["a\nb", /key prefix/],
    ["a//b", /key prefix/],
  ])("refuses %j", (prefix, reason) => {
    expect(prefixProblem(prefix)).toMatch(reason);
  });
});
