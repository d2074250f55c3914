/**
 * Working tool (not part of `npm run bench`): CPU per request of a few registry routes for several
 * registry variants at once — checkouts and/or NODE_OPTIONS — on one Postgres database seeded as
 * the routes bench seeds, rounds interleaved so the machine's drift hits every variant alike.
 *
 *   VARIANTS='base=/work/wt/base;new=/work/main|--max-semi-space-size=32;quiet=/work/main||LOG_LEVEL=warn' \
 *     ONLY=version,history node --import tsx scripts/bench/route-cpu.ts [seconds] [rounds]
 *
 * A variant is `name=root|NODE_OPTIONS|NAME=value,NAME=value` (the last two optional): the
 * environment entries override the registry's (LOG_LEVEL=info unless said). Besides the server's
 * own CPU per request it prints the CPU every Postgres process spent per request (the database
 * shares the machine's cores, so its work is the server's too).
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { freePort, REPO_ROOT } from "../../test/support/spawn-server.js";
import { createBenchDatabase } from "./cluster.js";
import { ROUTES_TOKEN, seedRoutes } from "./routes.js";
import { median } from "./stats.js";

async function cpu(pid: number): Promise<[number, number]> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return [Number(fields[11]) * 10_000, Number(fields[12]) * 10_000];
}

/** User + system CPU (µs) of each Postgres process on the machine, by pid. */
async function postgresCpu(): Promise<Map<string, number>> {
  const byPid = new Map<string, number>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    if (!stat.includes("(postgres)")) continue;
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    byPid.set(entry, (Number(fields[11]) + Number(fields[12])) * 10_000);
  }
  return byPid;
}

/** The database's CPU between two readings: processes that ended in between are left out, new ones count whole. */
function postgresSpent(before: Map<string, number>, after: Map<string, number>): number {
  let total = 0;
  for (const [pid, cpu] of after) total += cpu - (before.get(pid) ?? 0);
  return total;
}

interface Variant { name: string; root: string; nodeOptions: string; url: string; pid: number; stop(): void }
type Env = Record<string, string>;

async function start(name: string, root: string, nodeOptions: string, extraEnv: Env, databaseUrl: string, dir: string): Promise<Variant> {
  const port = await freePort();
  // A root ending in `:dist` runs the compiled build (npm run start:prod) instead of tsx.
  const compiled = root.endsWith(":dist");
  // A root of `bare` runs the bench's bare node:http + pg server (bare-routes-server.ts).
  const entry = root === "bare" ? ["--import", "tsx", "scripts/bench/bare-routes-server.ts"] : compiled ? ["dist/main.js"] : ["--import", "tsx", "src/main.ts"];
  if (root === "bare") root = REPO_ROOT;
  const child = spawn(process.execPath, entry, {
    cwd: compiled ? root.slice(0, -":dist".length) : root,
    env: { PATH: process.env.PATH ?? "", HOME: "/tmp", DATABASE_URL: databaseUrl, PINSET_DATA_DIR: dir, PINSET_ADMIN_TOKEN: ROUTES_TOKEN, PINSET_RATE_LIMIT_RPS: "0", LOG_LEVEL: "info", PORT: String(port), TOKEN: ROUTES_TOKEN, NODE_OPTIONS: nodeOptions, ...(process.env.PINSET_BENCH_CPU_PROF_DIR ? { PINSET_BENCH_CPU_PROF_DIR: process.env.PINSET_BENCH_CPU_PROF_DIR } : {}), ...extraEnv },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${url}/readyz`)).status !== 503) break; } catch { /* not yet */ }
    if (i > 300) throw new Error(`${name} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name, root, nodeOptions, url, pid: child.pid!, stop: () => child.kill("SIGTERM") };
}

const seconds = Number(process.argv[2] ?? 2);
const rounds = Number(process.argv[3] ?? 3);
const specs = (process.env.VARIANTS ?? `main=${REPO_ROOT}`).split(";").map((v) => {
  const eq = v.indexOf("=");
  const [name, rest] = [v.slice(0, eq), v.slice(eq + 1)];
  const [root, opts, env] = rest.split("|");
  const extraEnv = Object.fromEntries((env ? env.split(",") : []).map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]));
  return { name, root: root!, nodeOptions: opts ?? "", env: extraEnv };
});
const database = await createBenchDatabase("postgres://postgres@127.0.0.1:5432/postgres", "pinset_bench_cpu");
const dir = await mkdtemp(path.join(tmpdir(), "pinset-cpu-"));
const variants: Variant[] = [];
try {
  for (const s of specs) variants.push(await start(s.name, s.root, s.nodeOptions, s.env, database.url, path.join(dir, s.name)));
  const seed = await seedRoutes(variants[0]!.url);
  const only = process.env.ONLY?.split(",");
  const paths: Record<string, string> = {
    healthz: "/healthz",
    version: "/v1/projects/bench/artifacts/prompt/system/versions/1",
    diff: `/v1/projects/bench/diff?from=${seed.setA}&to=${seed.setB}`,
    history: `/v1/projects/bench/environments/${seed.environment}/history`,
    // The hot path (answered from memory by the fast lane), for a regression check of the lane itself.
    resolve: `/v1/projects/bench/environments/${seed.environment}/resolve`,
  };
  for (const [name, p] of Object.entries(paths)) {
    if (only && !only.includes(name)) continue;
    const figures = new Map<string, Array<{ rps: number; user: number; sys: number; postgres: number }>>();
    for (let round = 0; round < rounds; round++) {
      for (const v of round % 2 === 0 ? variants : [...variants].reverse()) {
        const opts = { url: `${v.url}${p}`, connections: 10, headers: { authorization: `Bearer ${ROUTES_TOKEN}` } };
        await autocannon({ ...opts, duration: 1 });
        const [before, pgBefore] = await Promise.all([cpu(v.pid), postgresCpu()]);
        const r = await autocannon({ ...opts, duration: seconds });
        if (r.non2xx > 0 || r.errors > 0) throw new Error(`${v.name} ${name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
        const [after, pgAfter] = await Promise.all([cpu(v.pid), postgresCpu()]);
        const list = figures.get(v.name) ?? [];
        const perRequest = (a: number, b: number) => (b - a) / r.requests.total;
        list.push({ rps: r.requests.average, user: perRequest(before[0], after[0]), sys: perRequest(before[1], after[1]), postgres: postgresSpent(pgBefore, pgAfter) / r.requests.total });
        figures.set(v.name, list);
      }
    }
    for (const v of variants) {
      const f = figures.get(v.name)!;
      const user = median(f.map((x) => x.user));
      const sys = median(f.map((x) => x.sys));
      const postgres = median(f.map((x) => x.postgres));
      console.log(`${name.padEnd(8)} ${v.name.padEnd(10)} ${String(Math.round(median(f.map((x) => x.rps)))).padStart(6)} req/s  user ${user.toFixed(0).padStart(4)} sys ${sys.toFixed(0).padStart(3)} postgres ${postgres.toFixed(0).padStart(3)} µs/request  (users ${f.map((x) => x.user.toFixed(0)).join(" ")})  load ${os.loadavg()[0]!.toFixed(1)}`);
    }
  }
} finally {
  for (const v of variants) v.stop();
  await new Promise((r) => setTimeout(r, 500));
  await database.drop();
  await rm(dir, { recursive: true, force: true });
}
