import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * One bash process per document, like the terminal a reader types the document into: blocks run
 * in order in the same shell, so variables (`$V1`), functions and the working directory carry
 * over from one block to the next.
 *
 * Semantics: `set -euo pipefail` plus `inherit_errexit` for the whole document. The first
 * command that fails ends the shell; its block fails with the failing line (in the Markdown) and
 * command, and every later block of the document fails as "not run".
 *
 * Each block is written to a file and `source`d with stdin from /dev/null, so a command that
 * reads stdin cannot swallow the next block. Stand-in commands first on PATH (writeWrappers) do what
 * a reader's checkout does: `npx pinset …` and `pinset …` run the checkout's bin/pinset.js, and
 * `curl` adds `--fail-with-body`, so an HTTP error answer (4xx/5xx) fails the block instead of
 * printing a problem+json nobody checks. Nothing else of a block is changed.
 */

export interface BlockSource {
  file: string;
  line: number;
  code: string;
}

export interface BlockResult {
  ok: boolean;
  stdout: string;
  stderr: string;
  /** Why it failed, one line naming `file:line` in the Markdown and the command. */
  failure?: string;
}

export interface ShellOptions {
  cwd: string;
  env: Record<string, string>;
  /** Where block files are written (a directory of the test's own). */
  scratch: string;
  /** A directory of stand-in commands put first on PATH (see writeWrappers). */
  wrappers: string;
}

const RS = "\u001e";

export class ShellSession {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly nonce = randomBytes(6).toString("hex");
  private out = "";
  private err = "";
  private exitCode: number | null | undefined;
  private count = 0;
  private dead: string | undefined;
  private readonly exited: Promise<void>;

  constructor(private readonly options: ShellOptions) {
    this.child = spawn("bash", ["--noprofile", "--norc"], { cwd: options.cwd, env: options.env, detached: true });
    this.child.stdout.setEncoding("utf8").on("data", (d: string) => (this.out += d));
    this.child.stderr.setEncoding("utf8").on("data", (d: string) => (this.err += d));
    this.exited = new Promise((resolve) =>
      this.child.once("close", (code, signal) => {
        this.exitCode = code ?? (signal ? 128 : null);
        resolve();
      }),
    );
    this.child.stdin.on("error", () => {}); // writing to a shell that already exited
    this.child.stdin.write(this.prelude());
  }

  private prelude(): string {
    return [
      "set -euo pipefail",
      "shopt -s inherit_errexit",
      `PATH=${shellQuote(this.options.wrappers)}:"$PATH"`,
      `__doc_test_err() { local status=$? command=$BASH_COMMAND; printf '\\n${RS}doc-test-error ${this.nonce} %s %s %s\\n' "$status" "$1" "\${command//$'\\n'/ }" >&2; }`,
      `trap '__doc_test_err "$LINENO"' ERR`,
      "",
    ].join("\n");
  }

  /** Runs one block; resolves when it finished, failed, or `timeoutMs` passed (then the shell is killed). */
  async run(block: BlockSource, timeoutMs: number): Promise<BlockResult> {
    if (this.dead) return { ok: false, stdout: "", stderr: "", failure: `not run: ${this.dead}` };
    const n = ++this.count;
    const file = path.join(this.options.scratch, `block-${n}.sh`);
    await writeFile(file, block.code);
    const done = `${RS}doc-test-done ${this.nonce} ${n}\n`;
    const outStart = this.out.length;
    const errStart = this.err.length;
    this.child.stdin.write(`source ${shellQuote(file)} </dev/null\nprintf '\\n${done.replace("\n", "\\n")}'; printf '\\n${done.replace("\n", "\\n")}' >&2\n`);

    const deadline = Date.now() + timeoutMs;
    let timedOut = false;
    while (!(this.out.includes(done, outStart) && this.err.includes(done, errStart)) && this.exitCode === undefined) {
      if (Date.now() > deadline) {
        timedOut = true;
        this.kill();
        await this.exited;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const stdout = cut(this.out.slice(outStart), done);
    const stderrRaw = cut(this.err.slice(errStart), done);
    const errorLine = new RegExp(`\\n?${RS}doc-test-error ${this.nonce} (\\d+) (\\d+) (.*)`).exec(stderrRaw);
    const stderr = stderrRaw.replace(new RegExp(`\\n?${RS}doc-test-error ${this.nonce} .*\\n?`, "g"), "");
    const where = `${block.file}:${block.line}`;
    if (timedOut) return this.fail(where, { stdout, stderr, failure: `${where}: still running after ${timeoutMs / 1000} s (killed)` });
    if (this.exitCode !== undefined) {
      const failure = errorLine
        ? `${block.file}:${block.line + Number(errorLine[2])}: \`${errorLine[3]}\` exited with ${errorLine[1]}`
        : `${where}: the shell exited (code ${this.exitCode}) during this block${lastLine(stderr) ? `: ${lastLine(stderr)}` : ""}`;
      return this.fail(where, { stdout, stderr, failure });
    }
    return { ok: true, stdout, stderr };
  }

  private fail(where: string, result: Omit<BlockResult, "ok">): BlockResult {
    this.dead = `the block at ${where} failed first`;
    return { ok: false, ...result };
  }

  private kill(): void {
    try {
      process.kill(-this.child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  }

  async close(): Promise<void> {
    if (this.exitCode === undefined) {
      this.child.stdin.end("exit 0\n");
      const timer = setTimeout(() => this.kill(), 5_000);
      await this.exited;
      clearTimeout(timer);
    }
    // Background jobs a block left behind share the process group.
    this.kill();
  }
}

function lastLine(text: string): string {
  return text.trim().split("\n").at(-1)?.trim() ?? "";
}

/** Output up to the block's end marker, without the newline printed before it. */
function cut(text: string, marker: string): string {
  const at = text.indexOf(marker);
  if (at === -1) return text;
  const head = text.slice(0, at);
  return head.endsWith("\n") ? head.slice(0, -1) : head;
}

/**
 * Writes `curl`, `pinset` and `npx` into `dir`. Scripts rather than shell functions, so a failing
 * command is reported at its own line and the stand-ins also work in subshells and child shells.
 */
export async function writeWrappers(dir: string, options: { pinsetBin: string; path: string }): Promise<void> {
  const q = shellQuote;
  const realCurl = findOnPath("curl", options.path);
  const realNpx = findOnPath("npx", options.path);
  const pinset = `exec ${q(process.execPath)} ${q(options.pinsetBin)} "$@"`;
  const scripts: Record<string, string> = {
    // A block that asks for --fail itself keeps it (curl refuses both options together).
    curl: realCurl
      ? `for a in "$@"; do case "$a" in --fail|--fail-with-body) exec ${q(realCurl)} "$@";; --*) ;; -*f*) exec ${q(realCurl)} "$@";; esac; done\nexec ${q(realCurl)} --fail-with-body "$@"`
      : 'echo "doc-test: curl is not installed" >&2; exit 127',
    pinset,
    npx: `if [ "\${1-}" = pinset ]; then shift; ${pinset}; fi\n${realNpx ? `exec ${q(realNpx)} "$@"` : "exit 127"}`,
  };
  await mkdir(dir, { recursive: true });
  for (const [name, body] of Object.entries(scripts)) await writeFile(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
}

function findOnPath(command: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
