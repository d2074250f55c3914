import type { CommandSpec, OptionSpec } from "./command.js";
import { DEFAULT_URL } from "./context.js";

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  url: { type: "string", value: "url", description: `Registry URL (env PINSET_URL; default ${DEFAULT_URL})` },
  token: { type: "string", value: "token", description: "API token (env PINSET_TOKEN)" },
  project: { type: "string", short: "p", value: "name", description: "Project (env PINSET_PROJECT)" },
  json: { type: "boolean", description: "Print the API's JSON answer on stdout" },
  help: { type: "boolean", short: "h", description: "Show help" },
  version: { type: "boolean", description: "Print the CLI's version" },
};

const EXIT_CODES = "Exit codes: 0 ok, 1 error (incl. registry unreachable), 2 usage, 3 conflict (409/423), 4 not found.";

export function usageLine(spec: CommandSpec): string {
  const args = spec.args.map((a) => (a.endsWith("?") ? `[${a.slice(0, -1)}]` : `<${a}>`));
  return ["pinset", spec.name, ...args, ...(spec.options ? ["[options]"] : [])].join(" ");
}

function optionLines(options: Record<string, OptionSpec>): string[] {
  const labels = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : "    "}--${name}${o.value ? ` <${o.value}>` : ""}${o.multiple ? "…" : ""}`;
    return [flag, o.description] as const;
  });
  const width = Math.max(...labels.map(([flag]) => flag.length));
  return labels.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`);
}

export function mainHelp(commands: readonly CommandSpec[]): string {
  const rows = commands.map((c) => [usageLine(c).replace(/^pinset /, "").replace(/ \[options\]$/, ""), c.summary] as const);
  const width = Math.max(...rows.map(([u]) => u.length));
  return [
    "pinset: publish, pin, deploy and roll back the parts of an LLM application",
    "",
    "Usage: pinset <command> [options]",
    "",
    "Commands:",
    ...rows.map(([u, s]) => `  ${u.padEnd(width)}  ${s}`),
    "",
    "Global options:",
    ...optionLines(GLOBAL_OPTIONS),
    "",
    EXIT_CODES,
    "Run 'pinset <command> --help' for a command's options and examples.",
    "",
  ].join("\n");
}

export function groupHelp(group: string, commands: readonly CommandSpec[]): string {
  const members = commands.filter((c) => c.name.startsWith(`${group} `));
  return [`Usage: pinset ${group} <command>`, "", "Commands:", ...members.map((c) => `  ${usageLine(c).replace(/^pinset /, "")}\n      ${c.summary}`), ""].join("\n");
}

export function commandHelp(spec: CommandSpec): string {
  const lines = [`Usage: ${usageLine(spec)}`, "", spec.summary];
  if (spec.description) lines.push("", spec.description);
  if (spec.options) lines.push("", "Options:", ...optionLines(spec.options));
  lines.push("", "Global options: --url, --token, -p/--project, --json (see 'pinset --help')");
  if (spec.examples?.length) lines.push("", "Examples:", ...spec.examples.map((e) => `  ${e}`));
  lines.push("", EXIT_CODES, "");
  return lines.join("\n");
}
