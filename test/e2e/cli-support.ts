import { spawn, spawnSync } from "node:child_process";
import { mkdir, readdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ADMIN_TOKEN, type TestApp } from "../support/test-app.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = path.join(ROOT, "bin/pinset.js");
const STAMP = path.join(ROOT, "dist/.cli-build-stamp");
const LOCK = path.join(ROOT, "dist/.cli-build-lock");
const SOURCES = ["src/client", "src/cli"].map((d) => path.join(ROOT, d));
const CONFIGS = ["tsconfig.build.json", "tsconfig.json", "package.json"].map((f) => path.join(ROOT, f));

async function newestSourceMtime(): Promise<number> {
  let newest = 0;
  for (const dir of SOURCES) {
    for (const entry of await readdir(dir, { recursive: true })) {
      if (entry.endsWith(".ts")) newest = Math.max(newest, (await stat(path.join(dir, entry))).mtimeMs);
    }
  }
  for (const file of CONFIGS) newest = Math.max(newest, (await stat(file)).mtimeMs);
  return newest;
}

async function isFresh(): Promise<boolean> {
  const built = await stat(STAMP).catch(() => undefined);
  return built !== undefined && built.mtimeMs >= (await newestSourceMtime());
}

/**
 * The e2e tests run the real `bin/pinset.js`, which prefers dist/. Rebuild dist when a source is
 * newer than the last build (a few ms when fresh), under a lock directory so two test files
 * running at once do not both write dist/.
 */
export async function ensureCliBuilt(): Promise<void> {
  if (await isFresh()) return;
  await mkdir(path.dirname(LOCK), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch {
      const lock = await stat(LOCK).catch(() => undefined);
      if (lock && Date.now() - lock.mtimeMs > 180_000) await rm(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error("timed out waiting for another test file to build the CLI");
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (await isFresh()) return;
    const startedAt = new Date();
    const tsc = spawnSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: ROOT, encoding: "utf8" });
    // tsc still emits on type errors; `npm run typecheck` is the gate for those, so a type error
    // elsewhere in src/client (work in progress) must not stop the CLI's own tests.
    if (tsc.status !== 0) {
      if (!(await stat(path.join(ROOT, "dist/cli/main.js")).catch(() => undefined))) throw new Error(`building the CLI failed:\n${tsc.stdout}${tsc.stderr}`);
      console.warn(`tsc reported errors while building the CLI (emitted anyway):\n${tsc.stdout}${tsc.stderr}`);
    }
    await writeFile(STAMP, "");
    // Stamp with the build's start: a source saved during the build makes the next run rebuild.
    await utimes(STAMP, startedAt, startedAt);
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  stdin?: string;
}

/** Spawns `node bin/pinset.js …` with a clean environment: only what the test passes. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return runNode([BIN, ...args], options);
}

/**
 * Spawns node asynchronously: the registry under test lives in this process, so a blocking
 * spawnSync would leave the child waiting for a server that cannot answer.
 */
export function runNode(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" };
  for (const [k, v] of Object.entries(options.env ?? {})) if (v !== undefined) env[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: options.cwd ?? ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? "");
  });
}

/** A CLI bound to a test registry, project and admin token through the PINSET_* variables. */
export function cliFor(t: TestApp, project: string) {
  const base = { PINSET_URL: t.url, PINSET_TOKEN: ADMIN_TOKEN, PINSET_PROJECT: project };
  return (args: string[], options: CliOptions = {}) => runCli(args, { ...options, env: { ...base, ...options.env } });
}

/** Parses stdout as JSON, failing the test with the CLI's stderr when it is not. */
export function json<T = Record<string, unknown>>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${result.code}):\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

/** The value of a Prometheus counter in the registry's /metrics text. */
export async function counter(t: TestApp, name: string): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : 0;
}

export interface RunningCli {
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout matches (rejects after `timeoutMs`, showing what came). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  signal(name: NodeJS.Signals): void;
  /** The exit, with everything printed. */
  exited: Promise<CliResult>;
}

/** Starts `pinset …` and keeps it running: for commands that follow something (`--watch`). */
export function startCli(args: string[], options: CliOptions = {}): RunningCli {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" };
  for (const [k, v] of Object.entries(options.env ?? {})) if (v !== undefined) env[k] = v;
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const listeners = new Set<() => void>();
  let closed = false;
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
    for (const l of listeners) l();
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  child.stdin.end();
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      closed = true;
      for (const l of listeners) l();
      resolve({ code, stdout, stderr });
    });
  });
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    signal: (name) => void child.kill(name),
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(stdout)) return done(resolve);
          if (closed) done(() => reject(new Error(`pinset exited before printing ${pattern}:\n${stdout}\nstderr:\n${stderr}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${pattern}:\n${stdout}\nstderr:\n${stderr}`))), timeoutMs);
        const done = (then: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          then();
        };
        listeners.add(check);
        check();
      });
    },
  };
}
