import { describe, expect, it } from "vitest";
import { parseIssuer } from "./oidc-issuer.js";

describe("parseIssuer", () => {
  it.each([
    ["https://oidc.eks.us-east-1.amazonaws.com/id/ABC123", "oidc.eks.us-east-1.amazonaws.com/id/ABC123"],
    ["https://oidc.eks.eu-west-1.amazonaws.com/id/ABC123/", "oidc.eks.eu-west-1.amazonaws.com/id/ABC123"],
    ["https://OIDC.Example.com/realms/k8s-prod", "oidc.example.com/realms/k8s-prod"],
    ["https://oidc.example.com", "oidc.example.com"],
  ])("reads %s as %s", (issuer, hostPath) => {
    expect(parseIssuer(issuer)).toEqual({ hostPath });
  });

  it.each([
    ["https://*/", /host "\*"/],
    ["https://*.amazonaws.com/id/X", /host/],
    ["https://oidc.eks.us-east-1.amazonaws.com/id/*", /path "\/id\/\*"/],
    ["https://oidc.eks.us-east-1.amazonaws.com/id/?", /path/],
    ["https://oidc.eks.us-east-1.amazonaws.com:8443/id/X", /host "oidc.eks.us-east-1.amazonaws.com:8443"/],
    ["https://user:secret@oidc.eks.us-east-1.amazonaws.com/id/X", /host/],
    ["https://oidc.eks.us-east-1.amazonaws.com/id/X?a=b#frag", /path/],
    ["https://oidc.eks.us-east-1.amazonaws.com/id/X/../../", /path/],
    [`https://oidc.eks.us-east-1.amazonaws.com/id/${"$"}{aws:username}`, /path/],
    ['https://oidc.eks.us-east-1.amazonaws.com/id/X"}', /path/],
    ["https://1.2.3.4/", /host "1.2.3.4": a DNS name/],
    ["https://[::1]/id/X", /host/],
    ["https://localhost/id/X", /host/],
    [`https://oidc.example.com/${"a".repeat(20_000)}`, /20025 characters; IAM takes 255/],
    ["http://oidc.example.com/id/X", /not an https URL/],
  ])("refuses %s", (issuer, problem) => {
    const parsed = parseIssuer(issuer);
    expect("problem" in parsed && parsed.problem).toMatch(problem);
  });
});
