import { parseRoleArn } from "@credbridge/core/wire";
import { UsageError } from "../args/usage-error.js";
import type { Command } from "../context.js";
import { irsaTrustPolicy, podIdentityTrustPolicy } from "../trust/policies.js";

/** Kubernetes names: DNS-1123 labels (namespaces) and subdomains (service accounts). */
const K8S_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** `credbridge trust-policy`: the IAM trust policy JSON for IRSA or Pod Identity. */
export const trustPolicyCommand: Command = async (ctx) => {
  const f = ctx.flags;
  const fail = (message: string) => new UsageError(message, "trust-policy");
  const irsa = f.irsa === true;
  const pod = f["pod-identity"] === true;
  if (irsa === pod) throw fail("choose exactly one of --irsa or --pod-identity");
  const selfArn = f["self-assume"] as string | undefined;
  const self = selfArn === undefined ? undefined : parseRoleArn(selfArn);
  if (selfArn !== undefined && !self) {
    throw fail(`--self-assume "${selfArn}" is not a role ARN (arn:aws:iam::<12-digit account>:role/<name>)`);
  }
  if (pod) {
    ctx.stdout(`${JSON.stringify(podIdentityTrustPolicy({ selfAssumeRoleArn: selfArn }), null, 2)}\n`);
    return 0;
  }
  const issuer = f["oidc-issuer"] as string | undefined;
  const namespace = f.namespace as string | undefined;
  const serviceAccount = f["service-account"] as string | undefined;
  const missing = [
    !issuer && "--oidc-issuer",
    !namespace && "--namespace",
    !serviceAccount && "--service-account",
  ].filter(Boolean);
  if (missing.length) throw fail(`--irsa needs ${missing.join(", ")}`);
  let url: URL;
  try {
    url = new URL(issuer!);
  } catch {
    throw fail(
      `--oidc-issuer "${issuer}" is not a URL (e.g. https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE)`,
    );
  }
  if (url.protocol !== "https:")
    throw fail("--oidc-issuer must be an https URL, as IAM requires of OIDC providers");
  for (const [flag, value] of [
    ["--namespace", namespace!],
    ["--service-account", serviceAccount!],
  ] as const) {
    if (!K8S_NAME.test(value))
      throw fail(`${flag} "${value}" is not a Kubernetes name (lower-case letters, digits, '-', '.')`);
  }
  const accountId = (f["account-id"] as string | undefined) ?? self?.accountId;
  if (!accountId || !/^\d{12}$/.test(accountId)) {
    throw fail(
      "--irsa needs the 12-digit --account-id of the OIDC provider (or a --self-assume role ARN to take it from)",
    );
  }
  const policy = irsaTrustPolicy({
    accountId,
    issuerHostPath: `${url.host}${url.pathname}`.replace(/\/+$/, ""),
    namespace: namespace!,
    serviceAccount: serviceAccount!,
    partition: self?.partition ?? "aws",
    selfAssumeRoleArn: selfArn,
  });
  ctx.stdout(`${JSON.stringify(policy, null, 2)}\n`);
  return 0;
};
