import { chainRoles, type RefreshingOptions, type RefreshingProvider, refreshing } from "@credbridge/core";
import type { AwsCredentialIdentityProvider } from "@smithy/types";
import { credentialsOutliveMargin } from "../margin.js";
import type { BuiltChain } from "../source.js";

/** One profile `serve` keeps: its file section, container path and metrics label. */
export interface ServedProfile {
  /** The default profile's is its --profile (default "default"). */
  name: string;
  /** False for the default profile (--self-assume, --assume-role). */
  named: boolean;
  engine: RefreshingProvider;
  /** Its chain, `a → b`, for logs. */
  chain: string;
}

export interface ProfileEngines {
  /** Default first, then the named ones in the order given. */
  profiles: ServedProfile[];
  /** Every engine to start and stop: the shared source engine too, once. */
  engines: RefreshingProvider[];
  /** The engine the pod's identity comes from, refreshed first on SIGHUP. */
  source: RefreshingProvider;
}

/**
 * The engines `serve` runs. Without named profiles, one engine over the whole
 * chain, as always. With them, ONE source engine over the pod's identity (and
 * self-assume), fetched once however many profiles hang off it, and one engine
 * per profile over its hops, signed by the source engine's cached credentials:
 * each profile refreshes, backs off and fails on its own. A default profile
 * without hops is the source engine itself.
 */
export const profileEngines = (o: {
  chain: BuiltChain;
  /** The whole default chain with the margin checked (chainOutlivingMargin's). */
  provider: AwsCredentialIdentityProvider;
  /** Its steps, `a → b`: the engine's name. */
  chainName: string;
  defaultName: string;
  minRemainingSeconds: number;
  now: () => number;
  options: Omit<RefreshingOptions, "name" | "observer">;
}): ProfileEngines => {
  const { chain } = o;
  if (chain.profiles.length === 0) {
    const engine = refreshing(o.provider, { name: o.chainName, ...o.options });
    return {
      profiles: [{ name: o.defaultName, named: false, engine, chain: o.chainName }],
      engines: [engine],
      source: engine,
    };
  }
  const margin = { minRemainingSeconds: o.minRemainingSeconds, now: o.now };
  const baseLabel = chain.base.map((s) => s.label).join(" → ");
  const source = refreshing(
    credentialsOutliveMargin(chain.base.at(-1)!.provider, {
      ...margin,
      name: baseLabel,
      session: chain.baseSession,
    }),
    { name: baseLabel, ...o.options },
  );
  const onSource = (name: string, hops: BuiltChain["hops"], session: BuiltChain["session"]) => {
    const label = [baseLabel, ...hops.map((h) => `assume-role ${h.roleArn}`)].join(" → ");
    const engine = refreshing(
      credentialsOutliveMargin(chainRoles(source, hops), { ...margin, name: label, session }),
      { name: `profile ${name}: ${label}`, ...o.options },
    );
    return { engine, label };
  };
  const first =
    chain.hops.length === 0
      ? { engine: source, label: baseLabel }
      : onSource(o.defaultName, chain.hops, chain.session);
  const profiles: ServedProfile[] = [
    { name: o.defaultName, named: false, engine: first.engine, chain: first.label },
    ...chain.profiles.map((p) => {
      const { engine, label } = onSource(p.name, p.hops, p.session);
      return { name: p.name, named: true, engine, chain: label };
    }),
  ];
  const engines = [...new Set([source, ...profiles.map((p) => p.engine)])];
  return { profiles, engines, source };
};
