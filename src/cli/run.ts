import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { CommandSpec, OptionSpec, OptionValues } from "./command.js";
import { COMMANDS } from "./commands/index.js";
import { CommandContext, DEFAULT_URL, type CliIO, type GlobalOptions } from "./context.js";
import { EXIT, errorLine, exitCodeFor, UsageError } from "./errors.js";
import { commandHelp, GLOBAL_OPTIONS, groupHelp, mainHelp } from "./help.js";
import { closest } from "./suggest.js";

type ParseOptions = Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }>;

function parseConfig(options: Record<string, OptionSpec>): ParseOptions {
  return Object.fromEntries(
    Object.entries(options).map(([name, o]) => [name, { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) }]),
  );
}

/** Every option any command knows: enough to find the command words among the arguments. */
function allOptions(): ParseOptions {
  const merged: Record<string, OptionSpec> = { ...GLOBAL_OPTIONS };
  for (const c of COMMANDS) Object.assign(merged, c.options);
  return parseConfig(merged);
}

const GROUPS = new Set(COMMANDS.filter((c) => c.name.includes(" ")).map((c) => c.name.split(" ")[0]!));

function findCommand(words: string[]): { spec: CommandSpec; rest: string[] } | undefined {
  for (const take of [2, 1]) {
    const name = words.slice(0, take).join(" ");
    const spec = COMMANDS.find((c) => c.name === name);
    if (spec && words.length >= take) return { spec, rest: words.slice(take) };
  }
  return undefined;
}

/** A usage error for words that name no command, with the closest command when one is near. */
function unknownCommand(words: string[]): UsageError {
  const [first = "", second] = words;
  if (GROUPS.has(first) && second !== undefined) {
    const subcommands = COMMANDS.filter((c) => c.name.startsWith(`${first} `)).map((c) => c.name.slice(first.length + 1));
    const close = closest(second, subcommands);
    const hint = close ? ` (did you mean "${first} ${close}"?)` : ` ("${first}" has ${subcommands.join(", ")})`;
    return new UsageError(`unknown command "${first} ${second}"${hint}`, first);
  }
  const tops = [...new Set(COMMANDS.map((c) => c.name.split(" ")[0]!))];
  const close = closest(first, tops);
  // `rolout status`: the group was mistyped, the subcommand was right.
  const meant = close && GROUPS.has(close) && second !== undefined && findCommand([close, second]) ? `${close} ${second}` : close;
  return new UsageError(`unknown command "${first}"${meant ? ` (did you mean "${meant}"?)` : ""}`);
}

function strictParse(argv: string[], spec: CommandSpec) {
  try {
    return parseArgs({ args: argv, options: parseConfig({ ...GLOBAL_OPTIONS, ...spec.options }), strict: true, allowPositionals: true });
  } catch (error) {
    // node's messages carry a long hint about `--`; the first sentence is the useful part.
    const message = error instanceof Error ? error.message.split(". ")[0]!.replace(/\.$/, "") : String(error);
    throw new UsageError(message.charAt(0).toLowerCase() + message.slice(1), spec.name);
  }
}

function globalOptions(values: OptionValues, env: CliIO["env"], command: string): GlobalOptions {
  const pick = (flag: unknown, variable: string | undefined) => (typeof flag === "string" && flag !== "" ? flag : variable || undefined);
  const url = pick(values.url, env.PINSET_URL) ?? DEFAULT_URL;
  if (!/^https?:\/\/[^/]/i.test(url)) throw new UsageError(`--url must be an http:// or https:// URL, got "${url}"`, command);
  return { url, token: pick(values.token, env.PINSET_TOKEN), project: pick(values.project, env.PINSET_PROJECT), json: values.json === true };
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

async function dispatch(io: CliIO): Promise<number> {
  const loose = parseArgs({ args: io.argv, options: allOptions(), strict: false, allowPositionals: true });
  const words = loose.positionals;
  const wantsHelp = loose.values.help === true;
  if (words[0] === "help") {
    const found = findCommand(words.slice(1));
    if (found) io.stdout.write(commandHelp(found.spec));
    else if (GROUPS.has(words[1] ?? "")) io.stdout.write(groupHelp(words[1]!, COMMANDS));
    else if (words.length > 1) throw unknownCommand(words.slice(1));
    else io.stdout.write(mainHelp(COMMANDS));
    return EXIT.ok;
  }
  if (words.length === 0) {
    if (loose.values.version === true && !wantsHelp) io.stdout.write(`${version()}\n`);
    else io.stdout.write(mainHelp(COMMANDS));
    return EXIT.ok;
  }
  const found = findCommand(words);
  if (!found) {
    if (GROUPS.has(words[0]!) && (words.length === 1 || wantsHelp)) {
      if (wantsHelp) {
        io.stdout.write(groupHelp(words[0]!, COMMANDS));
        return EXIT.ok;
      }
      io.stderr.write(groupHelp(words[0]!, COMMANDS));
      throw new UsageError(`"${words[0]}" needs a subcommand`, words[0]);
    }
    throw unknownCommand(words);
  }
  const { spec } = found;
  if (wantsHelp) {
    io.stdout.write(commandHelp(spec));
    return EXIT.ok;
  }
  const { values, positionals } = strictParse(io.argv, spec);
  const rest = positionals.slice(spec.name.split(" ").length);
  const names = spec.args.map((a) => a.replace(/\?$/, ""));
  if (rest.length > names.length) throw new UsageError(`unexpected argument "${rest[names.length]}"`, spec.name);
  const missing = spec.args.filter((a, i) => !a.endsWith("?") && rest[i] === undefined);
  if (missing.length > 0) throw new UsageError(`missing ${missing.map((m) => `<${m}>`).join(" ")}`, spec.name);
  const args = Object.fromEntries(names.map((n, i) => [n, rest[i]]));
  const ctx = new CommandContext(io, globalOptions(values, io.env, spec.name), spec.name);
  await spec.run(ctx, { args, values });
  return EXIT.ok;
}

/** Runs one invocation and returns its exit code; every failure becomes one line on stderr. */
export async function run(io: CliIO): Promise<number> {
  try {
    return await dispatch(io);
  } catch (error) {
    io.stderr.write(`${errorLine(error)}\n`);
    if (io.env.PINSET_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return exitCodeFor(error);
  }
}
