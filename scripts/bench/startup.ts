/**
 * `npm run bench -- --only startup`: process start → first `/readyz` 200, for the ways the
 * registry starts, each beside `node -e ""` (a bare Node process start → exit) measured in the
 * same rounds. Rounds are interleaved (every variant once per round, in turn), so a change in
 * the machine's load hits all of them alike; the figure is the median of the rounds.
 *
 *   compiled = `node dist/main.js` (npm run start:prod); tsx = `node --import tsx src/main.ts` (npm start)
 *   embedded fresh: a new PINSET_DATA_DIR each round · embedded existing: one data dir, already used
 *   Postgres: a bench database on the local server, migrated by a warm-up start
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { freePort, REPO_ROOT } from "../../test/support/spawn-server.js";
import { median } from "./stats.js";
import type { Row } from "./table.js";

interface Variant {
  key: string;
  label: string;
  target?: number;
  /** Arguments to node; undefined: the `node -e ""` baseline. */
  args?: string[];
  env(round: number): Promise<Record<string, string>>;
}

async function timeToReady(args: string[], env: Record<string, string>): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", LOG_LEVEL: "warn", ...env, PORT: String(port) }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`start failed (exit ${child.exitCode}): ${stderr}`);
      const status = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0);
      if (status === 200) return performance.now() - started;
      if (performance.now() - started > 120_000) throw new Error(`no /readyz 200 within 120 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

function timeToExit(): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", () => resolve(performance.now() - started));
  });
}

/** dist/ up to date (tsc is incremental: seconds when nothing changed) and the embedded template made. */
function ensureBuilt(log: (line: string) => void): void {
  log("startup: compiling to dist/ (incremental)");
  const tsc = spawnSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { cwd: REPO_ROOT, encoding: "utf8" });
  if (tsc.status !== 0) throw new Error(`npm run build failed:\n${tsc.stdout}${tsc.stderr}`);
  if (!existsSync(path.join(REPO_ROOT, "dist/embedded-template/template.json"))) {
    log("startup: making the embedded template");
    const made = spawnSync("npm", ["run", "build:template"], { cwd: REPO_ROOT, encoding: "utf8" });
    if (made.status !== 0) throw new Error(`npm run build:template failed:\n${made.stdout}${made.stderr}`);
  }
}

const seconds = (v: number) => `${(v / 1000).toFixed(2)} s`;

export async function benchStartup(options: { adminUrl: string; rounds: number; log(line: string): void; results: Record<string, unknown> }): Promise<Row[]> {
  const { log, rounds } = options;
  ensureBuilt(log);
  const scratch = await mkdtemp(path.join(tmpdir(), "pinset-bench-startup-"));
  const database = `pinset_bench_startup_${process.pid}`;
  const admin = new pg.Client({ connectionString: options.adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(options.adminUrl);
  url.pathname = `/${database}`;
  const postgres = { DATABASE_URL: url.toString(), PINSET_DATA_DIR: path.join(scratch, "pg-mode") };
  const existing = { PINSET_DATA_DIR: path.join(scratch, "existing") };
  const fresh = async (round: number) => ({ PINSET_DATA_DIR: path.join(scratch, `fresh-${round}-${Math.random().toString(36).slice(2)}`) });
  const compiled = ["dist/main.js"];
  const tsx = ["--import", "tsx", "src/main.ts"];
  const variants: Variant[] = [
    { key: "node", label: 'node -e ""', env: async () => ({}) },
    { key: "pgCompiled", label: "compiled + Postgres (npm run start:prod)", target: 1_500, args: compiled, env: async () => postgres },
    { key: "existingCompiled", label: "compiled, embedded, existing data", target: 3_000, args: compiled, env: async () => existing },
    { key: "freshCompiled", label: "compiled, embedded, fresh data dir", target: 8_000, args: compiled, env: fresh },
    { key: "pgTsx", label: "tsx + Postgres (npm start)", args: tsx, env: async () => postgres },
    { key: "existingTsx", label: "tsx, embedded, existing data (npm start)", args: tsx, env: async () => existing },
    { key: "freshTsx", label: "tsx, embedded, fresh data dir (first npm start)", args: tsx, env: fresh },
  ];
  const samples: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v.key, []]));
  try {
    log("startup: warm-up (migrates the Postgres database, makes the existing data dir; not counted)");
    await timeToReady(compiled, postgres);
    await timeToReady(compiled, existing);
    for (let round = 1; round <= rounds; round++) {
      log(`startup: round ${round} of ${rounds}`);
      for (const v of variants) {
        const env = await v.env(round);
        samples[v.key]!.push(v.args ? await timeToReady(v.args, env) : await timeToExit());
        if (v.env === fresh) await rm(env.PINSET_DATA_DIR!, { recursive: true, force: true });
      }
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {});
    await admin.end();
    await rm(scratch, { recursive: true, force: true });
  }
  options.results.startup = samples;
  const baseline = median(samples.node!);
  return variants
    .filter((v) => v.args)
    .map((v) => {
      const s = samples[v.key]!;
      const m = median(s);
      return {
        measure: `start → /readyz 200: ${v.label}, median of ${s.length} (min–max)`,
        pinset: `${seconds(m)} (${seconds(Math.min(...s))}–${seconds(Math.max(...s))})`,
        baseline: `node -e "": ${seconds(baseline)}`,
        target: v.target ? `< ${seconds(v.target)}` : "",
        ...(v.target ? { pass: m < v.target } : {}),
      };
    });
}
