import { PinsetApiError, RegistryUnreachableError } from "../client/errors.js";
import { escapeControl } from "./render/safe-text.js";

/** The exit codes scripts can rely on. */
export const EXIT = { ok: 0, error: 1, usage: 2, conflict: 3, notFound: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The command line (or a local file it names) is wrong: nothing was sent to the registry. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  /** Which command's usage to point at in the hint, if any. */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** A local file named on the command line is missing or invalid: exit 2, but no usage hint. */
export class InputError extends UsageError {}

/** A command-level failure that is not an API answer (e.g. "nothing is active in staging"). */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode = EXIT.error) {
    super(message);
    this.exitCode = exitCode;
  }
}

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof UsageError) return EXIT.usage;
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof PinsetApiError) {
    if (error.status === 409 || error.status === 423) return EXIT.conflict;
    if (error.status === 404) return EXIT.notFound;
  }
  return EXIT.error;
}

/** One line for stderr: `pinset: <detail> (<code>, trace <id>)`, never a stack trace. */
export function errorLine(error: unknown): string {
  if (error instanceof PinsetApiError) {
    const fields = error.errors.map((e) => `${e.path}: ${e.message}`);
    const detail = fields.length > 0 ? `${error.detail}: ${fields.join("; ")}` : error.detail;
    const tags = [error.code, ...(error.traceId ? [`trace ${error.traceId}`] : [])].join(", ");
    return `pinset: ${oneLine(detail)} (${tags})`;
  }
  if (error instanceof InputError) return `pinset: ${oneLine(error.message)}`;
  if (error instanceof UsageError) {
    const hint = error.command ? `run 'pinset ${error.command} --help' for usage` : "run 'pinset --help' for usage";
    return `pinset: ${oneLine(error.message)} (${hint})`;
  }
  if (error instanceof RegistryUnreachableError || error instanceof CliError) return `pinset: ${oneLine(error.message)}`;
  if (error instanceof Error) return `pinset: ${oneLine(error.message)}`;
  return `pinset: ${oneLine(String(error))}`;
}

/** One line, with any control character (e.g. from a server's error detail) written out visibly. */
function oneLine(text: string): string {
  return escapeControl(text.replace(/\s*\n\s*/g, " ").trim());
}
