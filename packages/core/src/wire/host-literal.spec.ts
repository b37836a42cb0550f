import { describe, expect, it } from "vitest";
import { hostLiteral } from "./host-literal.js";

describe("hostLiteral", () => {
  it.each([
    ["::1", "[::1]"],
    ["fd00:ec2::23", "[fd00:ec2::23]"],
    ["127.0.0.1", "127.0.0.1"],
    ["localhost", "localhost"],
  ])("%s → %s", (address, literal) => {
    expect(hostLiteral(address)).toBe(literal);
  });
});
