import { createClient, type PinsetClient } from "../client/client.js";
import { colours, type Colours } from "./render/colour.js";
import { escapeDeep, safeJson, sanitizeOutput } from "./render/safe-text.js";
import { UsageError } from "./errors.js";

/** What the process gives the CLI: injected, so tests and embedders run it without a real terminal. */
export interface CliIO {
  argv: string[];
  env: Record<string, string | undefined>;
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  /** Standard input, opened only when a command reads it (`--secret-file -`). */
  stdin?: () => AsyncIterable<string | Uint8Array>;
  /**
   * For a command that runs until stopped (`rollout status --watch`): a signal aborted on Ctrl-C
   * (SIGINT) or SIGTERM, so it ends cleanly. Other commands never ask, and keep the default
   * behaviour of those signals.
   */
  interrupts?: () => AbortSignal;
}

export interface GlobalOptions {
  url: string;
  token: string | undefined;
  project: string | undefined;
  json: boolean;
}

export const DEFAULT_URL = "http://127.0.0.1:8080";

/** Everything a command needs: the client, the project, and where and how to print. */
export class CommandContext {
  readonly json: boolean;
  /** Colours for stdout: only on a terminal, never with NO_COLOR or --json. */
  readonly colour: Colours;
  private clientInstance: PinsetClient | undefined;

  constructor(
    readonly io: CliIO,
    readonly options: GlobalOptions,
    readonly commandName: string,
  ) {
    this.json = options.json;
    const noColour = io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== "";
    this.colour = colours(Boolean(io.stdout.isTTY) && !noColour && !options.json);
  }

  get client(): PinsetClient {
    this.clientInstance ??= createClient({
      url: this.options.url,
      token: this.options.token,
      headers: { "user-agent": "pinset-cli" },
    });
    return this.clientInstance;
  }

  /** The headers the client sends, for requests made outside it (the watch stream). */
  authHeaders(): Record<string, string> {
    return { "user-agent": "pinset-cli", ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}) };
  }

  /** The project every /v1/projects/{p}/… command works in. */
  get project(): string {
    const project = this.options.project;
    if (!project) throw new UsageError("no project: pass --project <name> or set PINSET_PROJECT", this.commandName);
    return project;
  }

  /** A progress display belongs on stderr, and only when a person watches it. */
  get interactive(): boolean {
    return Boolean(this.io.stderr.isTTY) && !this.json;
  }

  /** Writes a line; control characters other than our own colours are written out (safe-text.ts). */
  print(text = ""): void {
    this.io.stdout.write(`${sanitizeOutput(text)}\n`);
  }

  printJson(value: unknown): void {
    this.io.stdout.write(`${safeJson(value)}\n`);
  }

  /**
   * `--json` prints the API's answer as is; otherwise the command's human rendering of it, with
   * every string from the server escaped first (escapeDeep).
   */
  output<T>(value: T, human: (value: T) => string | string[]): void {
    if (this.json) return this.printJson(value);
    const text = human(escapeDeep(value));
    this.print(Array.isArray(text) ? text.join("\n") : text);
  }

  note(text: string): void {
    this.io.stderr.write(`${sanitizeOutput(text)}\n`);
  }
}
