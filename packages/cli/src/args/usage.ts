import { COMMANDS, envNameOf } from "./flags.js";

export const generalUsage = (): string =>
  [
    "credbridge: AWS credentials from IRSA and EKS Pod Identity for any application, old SDKs included.",
    "",
    "usage: credbridge <command> [flags]",
    "",
    "commands:",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(13)} ${c.summary}`),
    "",
    "Run 'credbridge <command> --help' for its flags. Every flag can also be set with",
    "CREDBRIDGE_<FLAG> (e.g. --role-arn as CREDBRIDGE_ROLE_ARN); the command line wins.",
  ].join("\n");

export const commandUsage = (command: string): string => {
  const def = COMMANDS[command];
  if (!def) return generalUsage();
  const rows = Object.entries(def.flags).map(([name, spec]) => {
    const left = `  --${name}${spec.value ? ` ${spec.value}` : ""}`;
    // --help has no variable: a CREDBRIDGE_HELP would turn every command into its usage.
    return `${left}\n      ${spec.help}${name === "help" ? "" : ` [${envNameOf(name)}]`}`;
  });
  return [`usage: credbridge ${command} [flags]`, "", def.summary, "", "flags:", ...rows].join("\n");
};
