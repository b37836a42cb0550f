import { isCredbridgeError, maskAccessKeyId, resolveStsSettings } from "@credbridge/core";
import type { AwsCredentialIdentity } from "@smithy/types";
import type { Command } from "../context.js";
import { inspectEnvironment, inspectTokenFile, type TokenFileReport } from "../doctor/inspect.js";
import { type DoctorReport, formatReport, type StepReport } from "../doctor/report.js";
import { orStop, StoppedError } from "../or-stop.js";
import { buildChain, hopSteps } from "../source.js";

/** The fix doctor can name beyond the error's own, from what it saw of the token. */
const fixFor = (error: unknown, label: string, token: TokenFileReport | undefined): string | undefined => {
  if (!isCredbridgeError(error)) return undefined;
  const c = token?.claims;
  if (error.code === "ERR_TOKEN_FILE") {
    return "mount the projected service-account token: with IRSA the Amazon EKS Pod Identity Webhook does it for pods whose service account has the eks.amazonaws.com/role-arn annotation";
  }
  if (label.startsWith("source") && token?.expiresInSeconds !== undefined && token.expiresInSeconds < 0) {
    return "the token in the file has expired: the kubelet is not rotating it (check the projected volume)";
  }
  if (label.startsWith("source") && error.serviceCode === "AccessDenied" && c?.sub) {
    const subject = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(c.sub);
    return `the role's trust policy must have StringEquals "<issuer>:sub": "${c.sub}" and "<issuer>:aud": "${[c.aud].flat()[0] ?? "sts.amazonaws.com"}" for the OIDC provider of ${c.iss ?? "the token's issuer"}; if its sub condition names another namespace or service account, it does not match this token's sub. Generate one with: credbridge trust-policy --irsa --oidc-issuer ${c.iss ?? "<issuer>"} --namespace ${subject?.[1] ?? "<ns>"} --service-account ${subject?.[2] ?? "<sa>"} --role-arn <role-arn>`;
  }
  if (label === "self-assume" && error.serviceCode === "AccessDenied") {
    return "add a statement to the role's trust policy that allows the role's own ARN to sts:AssumeRole (credbridge trust-policy ... --self-assume --role-arn <role-arn>), and to the role's permission policy sts:AssumeRole on itself (credbridge permission-policy --self-assume --role-arn <role-arn>)";
  }
  return undefined;
};

/** `credbridge doctor`: what people script by hand when IRSA or Pod Identity misbehaves. */
export const doctorCommand: Command<"doctor"> = async (ctx) => {
  const chain = buildChain(ctx.flags, ctx.env, undefined, "doctor");
  const report: DoctorReport = {
    ok: true,
    source: chain.detection,
    environment: inspectEnvironment(ctx.env),
    steps: [],
  };
  const tokenPath = ctx.flags["web-identity-token-file"] ?? ctx.env.AWS_WEB_IDENTITY_TOKEN_FILE;
  if (tokenPath) {
    const variable = ctx.flags["web-identity-token-file"]
      ? "--web-identity-token-file"
      : "AWS_WEB_IDENTITY_TOKEN_FILE";
    report.tokenFile = await inspectTokenFile(tokenPath, variable, ctx.now(), true);
  }
  if (ctx.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) {
    report.containerTokenFile = await inspectTokenFile(
      ctx.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
      "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
      ctx.now(),
      false,
    );
  }
  const { STSClient, GetCallerIdentityCommand } = await import("@aws-sdk/client-sts");
  const sts = resolveStsSettings(
    {
      region: ctx.flags.region,
      stsEndpoint: ctx.flags["sts-endpoint"],
    },
    ctx.env,
  );
  const whoAmI = async (credentials: AwsCredentialIdentity) => {
    const client = new STSClient({
      region: sts.region,
      ...(sts.endpoint ? { endpoint: sts.endpoint } : {}),
      credentials,
    });
    try {
      return await client.send(new GetCallerIdentityCommand({}));
    } finally {
      client.destroy();
    }
  };
  // The default chain, then every named profile's hops on the same base, once the base works.
  await checkSteps(chain.steps, undefined);
  const baseWorks = report.steps.slice(0, chain.base.length).every((s) => s.ok);
  for (const p of baseWorks ? chain.profiles : []) {
    await checkSteps(hopSteps(chain.base.at(-1)!.provider, p.hops), p.name);
  }
  ctx.stdout(ctx.flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.ok ? 0 : 1;

  async function checkSteps(steps: typeof chain.steps, profile: string | undefined): Promise<void> {
    for (const step of steps) {
      const label = profile === undefined ? step.label : `profile ${profile}: ${step.label}`;
      const entry: StepReport = { label, ok: false };
      report.steps.push(entry);
      try {
        const credentials = await orStop(step.provider(), ctx.stopSignal, `${step.label}`);
        entry.accessKeyId = maskAccessKeyId(credentials.accessKeyId);
        if (credentials.expiration) entry.expiration = credentials.expiration.toISOString();
        const identity = await orStop(
          whoAmI(credentials).catch((error: unknown) => {
            throw new Error(
              `the credentials were issued, but sts:GetCallerIdentity refused them: ${(error as Error).message}`,
            );
          }),
          ctx.stopSignal,
          `sts:GetCallerIdentity after ${step.label}`,
        );
        entry.ok = true;
        if (identity.Arn) entry.arn = identity.Arn;
        if (identity.Account) entry.account = identity.Account;
      } catch (error) {
        // Stopped (SIGTERM): no verdict on this step, and no report either.
        if (error instanceof StoppedError) throw error;
        entry.error = (error as Error).message;
        const fix = fixFor(error, step.label, report.tokenFile);
        if (fix) entry.fix = fix;
        report.ok = false;
        report.firstBroken ??= label;
        break;
      }
    }
  }
};
