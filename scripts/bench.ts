/**
 * `npm run bench`: the registry's performance figures, each beside a baseline measured in the
 * same run on the same machine, with pass/fail against the targets of issue 6.
 *
 *   npm run bench [-- --quick] [-- --only hot,cold,propagation,blob,publish,subject,publish-contention,schema-stall,hang,history,routes,gates,gc,startup,embedded] [-- --json out.json]
 *   npm run bench -- --only routes             non-hot routes vs a bare node:http + pg server running the same SQL
 *   npm run bench -- --only gates [--seed 7]     the canary gate's own bench: no server, no database
 *   npm run bench -- --only gc                   a gc dry run over 100 000 versions and 1 000 000 blob rows
 *   npm run bench -- --only embedded             the embedded registry (PGlite in its worker vs on the HTTP thread)
 *
 * Needs Postgres on 127.0.0.1:5432 (user postgres, trust; PINSET_BENCH_DATABASE_URL overrides):
 * the bench creates a database, runs two registry processes on it (A takes the deploys, B holds
 * the watchers and answers resolves), and drops it at the end. Exit code 1 when a target fails.
 * `gates` (scripts/bench/gates/) simulates rollouts, seeded, and needs neither.
 */
import { writeFile } from "node:fs/promises";
import os from "node:os";
import { parseArgs } from "node:util";
import pg from "pg";
import { benchGc } from "./bench/gc.js";
import { benchColdResolve } from "./bench/cold-resolve.js";
import { createEnvironment, envPath, seedSets, SERVER_LOG_LEVEL, startCluster, TOKEN, type Cluster } from "./bench/cluster.js";
import { benchHotResolve } from "./bench/hot-resolve.js";
import { benchNotifyFloor } from "./bench/notify-floor.js";
import { benchPropagation, type PropagationResult } from "./bench/propagation.js";
import { benchPublishContention } from "./bench/publish-contention.js";
import { benchSchemaStall } from "./bench/schema-stall.js";
import { historyAtBench, type HistoryAtResult } from "./bench/history-at.js";
import { benchStartup } from "./bench/startup.js";
import { benchEmbedded } from "./bench/embedded.js";
import { benchRoutes, type RoutesResult } from "./bench/routes.js";
import { extraRows } from "./bench/extra-benches.js";
import { ms } from "./bench/stats.js";
import { renderTable, type Row } from "./bench/table.js";
import { runBlobUploadBench } from "./bench-blob-upload.js";
import { DEFAULT_GATE_BENCH, runGateBench } from "./bench/gates/report.js";
import { dbHangRows } from "./bench-db-hang.js";

const PARTS = ["hot", "cold", "propagation", "blob", "publish", "subject", "publish-contention", "schema-stall", "hang", "history", "routes", "gates", "gc", "startup", "embedded"] as const;
type Part = (typeof PARTS)[number];

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    json: { type: "string" },
    "big-watchers": { type: "string", default: "10000" },
    "big-processes": { type: "string", default: "2" },
    seed: { type: "string", default: "1" },
    rounds: { type: "string" },
  },
});
const quick = values.quick;
const only = new Set((values.only ?? PARTS.join(",")).split(",").map((s) => s.trim()) as Part[]);
for (const part of only) if (!PARTS.includes(part)) throw new Error(`unknown part "${part}" (known: ${PARTS.join(", ")})`);
const adminUrl = process.env.PINSET_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const plan = {
  hot: quick ? { seconds: 3, rounds: 1 } : { seconds: 10, rounds: 3 },
  coldSamples: quick ? 10 : 30,
  small: { watchers: 1_000, deploys: quick ? 10 : 30, checked: quick ? 5 : 20 },
  big: { watchers: Number(values["big-watchers"]), deploys: quick ? 3 : 10, checked: quick ? 3 : 10, processes: Number(values["big-processes"]) },
  blobMiB: quick ? 256 : 1024,
  publish: quick ? { mib: 128, files: 50 } : { mib: 1024, files: 200 },
  contention: quick ? 1_000 : 10_000,
  routes: quick ? { seconds: 3, rounds: 1, connections: 10 } : { seconds: 5, rounds: 3, connections: 10 },
};

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
const rows: Row[] = [];
const results: Record<string, unknown> = {};

/** The gate bench and the embedded registry touch no Postgres server. */
const needsPostgres = [...only].some((part) => part !== "gates" && part !== "embedded");

async function machine(): Promise<string> {
  let postgres = "PostgreSQL not used";
  if (needsPostgres) {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    const { rows: version } = await client.query<{ server_version: string }>("SHOW server_version");
    await client.end();
    postgres = `PostgreSQL ${version[0]?.server_version}`;
  }
  const cpu = os.cpus()[0]?.model.trim() ?? "unknown CPU";
  return `${os.cpus().length} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${postgres}, ${os.type()} ${os.release()}, open files limit per process ${await openFilesLimit()}`;
}

/** The machine is shared: the load around the run says how much the figures can be trusted. */
function loadAverage(): string {
  return os.loadavg().map((v) => v.toFixed(1)).join(" / ");
}

async function openFilesLimit(): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  const limits = await readFile("/proc/self/limits", "utf8").catch(() => "");
  return /Max open files\s+(\d+)/.exec(limits)?.[1] ?? "unknown";
}

/** What the stale reads were, when there were any: statuses other than 200, answers marked stale. */
function staleCauses(r: PropagationResult): string {
  if (r.staleReads === 0) return "";
  const statuses = Object.entries(r.staleCauses.statuses).map(([status, n]) => `${n}× ${status === "-1" ? "no answer" : status}`);
  const marked = r.staleCauses.markedStale > 0 ? [`${r.staleCauses.markedStale} marked x-pinset-stale`] : [];
  const older = r.staleReads - r.staleCauses.markedStale - Object.values(r.staleCauses.statuses).reduce((a, b) => a + b, 0);
  return ` (${[...statuses, ...marked, ...(older > 0 ? [`${older} an older set`] : [])].join(", ")})`;
}

function propagationRows(r: PropagationResult, floor: { p50: number; p99: number }, targetMs: number): Row[] {
  const label = `${r.watchers.toLocaleString("en")} watchers on B (${r.processes} client process${r.processes > 1 ? "es" : ""}), ${r.deploys} deploys on A`;
  return [
    {
      measure: `propagation p50 / p99: ${label}`,
      pinset: `${ms(r.latency.p50)} / ${ms(r.latency.p99)} (max ${ms(r.latency.max)})`,
      baseline: `pg NOTIFY→LISTEN ${ms(floor.p50)} / ${ms(floor.p99)}`,
      target: `p99 < ${targetMs} ms, none missed`,
      pass: r.latency.p99 < targetMs && r.missing === 0,
    },
    {
      measure: `  of which: deploy request on A / first watcher on B, p50 / p99`,
      pinset: `${ms(r.deployRequest.p50)} / ${ms(r.deployRequest.p99)}; ${ms(r.first.p50)} / ${ms(r.first.p99)}`,
      baseline: "",
      target: "",
    },
    {
      measure: `stale reads: resolve on B right after its watcher saw revision N (${r.checkedDeploys} more deploys)`,
      pinset: `${r.staleReads} of ${r.checks} resolves${staleCauses(r)}`,
      baseline: `${r.missing} events missed, ${r.outOfOrder} out of order`,
      target: "0",
      pass: r.staleReads === 0 && r.checks > 0,
    },
    {
      measure: `B memory with ${r.watchers.toLocaleString("en")} watchers (connected in ${r.connectSeconds.toFixed(1)} s)`,
      pinset: `${r.rssWithWatchersMiB.toFixed(0)} MiB RSS`,
      baseline: `${r.rssBeforeMiB.toFixed(0)} MiB before`,
      target: "",
    },
  ];
}

function routeRows(r: RoutesResult): Row[] {
  return r.routes.flatMap((route) => [
    {
      measure: `${route.name} (Postgres, ${r.connections} connections; load ${route.load.toFixed(1)})`,
      pinset: `${route.pinset.rps.toFixed(0)} req/s, p50/p99 ${ms(route.pinset.p50)}/${ms(route.pinset.p99)} (ratio ${route.ratio.toFixed(2)})`,
      baseline: `node:http + pg, same SQL: ${route.bare.rps.toFixed(0)} req/s, ${ms(route.bare.p50)}/${ms(route.bare.p99)}`,
      target: `ratio ≥ ${route.target.toFixed(2)}`,
      pass: route.ratio >= route.target,
    },
    {
      measure: "  server CPU per request (user + system; ratio bare ÷ registry)",
      pinset: `${route.pinset.cpuUs.toFixed(0)} µs (ratio ${route.cpuRatio.toFixed(2)})`,
      baseline: `${route.bare.cpuUs.toFixed(0)} µs`,
      target: "",
    },
  ]);
}

/** Whether `watch` exists yet: an event stream answers 200 with text/event-stream. */
async function hasWatch(url: string): Promise<boolean> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` }, signal: abort.signal });
  abort.abort();
  return res.status === 200 && (res.headers.get("content-type") ?? "").startsWith("text/event-stream");
}

async function registryParts(): Promise<void> {
  log("creating the database and starting registry processes A and B");
  const cluster: Cluster = await startCluster(adminUrl);
  const stop = () => void cluster.close().finally(() => process.exit(130));
  process.once("SIGINT", stop);
  try {
    const needed = 1 + plan.coldSamples + 2 + plan.small.deploys + plan.small.checked + plan.big.deploys + plan.big.checked;
    log(`seeding ${needed} version sets`);
    const sets = await seedSets(cluster, needed);
    // sets[0] starts every environment; the others are each deployed once (stale-read checks map a set to its revision).
    let next = 1;
    const take = (n: number) => sets.slice(next, (next += n));

    if (only.has("hot")) {
      await createEnvironment(cluster, "hot", sets[0]!);
      log(`hot resolve: ${plan.hot.rounds} round(s) of ${plan.hot.seconds} s against B, bare express and bare node:http`);
      const hot = await benchHotResolve({ resolveUrl: `${cluster.b.url}${envPath("hot", "/resolve")}`, token: TOKEN, ...plan.hot, connections: 50 });
      results.hot = hot;
      rows.push(
        {
          measure: `hot resolve throughput (${(hot.bytes / 1024).toFixed(1)} KiB bundle, 50 connections, registry at LOG_LEVEL=${SERVER_LOG_LEVEL})`,
          pinset: `${hot.pinset.rps.toFixed(0)} req/s`,
          baseline: `bare express, same bytes: ${hot.bare.rps.toFixed(0)} req/s`,
          target: "ratio ≥ 0.90",
          pass: hot.ratio >= 0.9,
        },
        { measure: "hot resolve ratio / latency p50, p99", pinset: `${hot.ratio.toFixed(2)} / ${ms(hot.pinset.p50)}, ${ms(hot.pinset.p99)}`, baseline: `bare: ${ms(hot.bare.p50)}, ${ms(hot.bare.p99)}`, target: "" },
        {
          measure: "hot resolve against node:http alone (no framework, same bytes), for scale",
          pinset: `${hot.pinset.rps.toFixed(0)} req/s (ratio ${hot.nodeRatio.toFixed(2)})`,
          baseline: `bare node:http: ${hot.node.rps.toFixed(0)} req/s, p50 ${ms(hot.node.p50)}, p99 ${ms(hot.node.p99)}`,
          target: "",
        },
      );
    }
    if (only.has("cold")) {
      const fresh = take(plan.coldSamples);
      const known = take(2) as [string, string];
      await createEnvironment(cluster, "cold", known[0]);
      log(`cold resolve: ${plan.coldSamples} samples on A`);
      const cold = await benchColdResolve(cluster.a, "cold", { freshSets: fresh, knownSets: known });
      results.cold = cold;
      rows.push(
        { measure: "cold resolve p50 / p99: first after deploying a set never served", pinset: `${ms(cold.newSet.p50)} / ${ms(cold.newSet.p99)}`, baseline: `hot, same client: ${ms(cold.hot.p50)} / ${ms(cold.hot.p99)}`, target: "" },
        { measure: "cold resolve p50 / p99: first after switching back to a served set", pinset: `${ms(cold.knownSet.p50)} / ${ms(cold.knownSet.p99)}`, baseline: `hot, same client: ${ms(cold.hot.p50)} / ${ms(cold.hot.p99)}`, target: "" },
      );
    }
    if (only.has("propagation")) {
      await createEnvironment(cluster, "fleet-small", sets[0]!);
      const floor = await benchNotifyFloor(cluster.databaseUrl, 200);
      results.notifyFloor = floor;
      const smallSets = take(plan.small.deploys);
      const smallChecked = take(plan.small.checked);
      const bigSets = take(plan.big.deploys);
      const bigChecked = take(plan.big.checked);
      if (!(await hasWatch(`${cluster.b.url}${envPath("fleet-small", "/watch")}`))) {
        rows.push({ measure: "propagation / stale reads", pinset: "not run: the registry has no watch endpoint yet", baseline: "", target: "", pass: false });
      } else {
        log(`propagation: ${plan.small.watchers} watchers on B, ${plan.small.deploys} deploys on A`);
        const small = await benchPropagation(cluster.a, cluster.b, "fleet-small", { watchers: plan.small.watchers, processes: 1, sets: smallSets, checkedSets: smallChecked, checkersPerProcess: 50 });
        results.propagationSmall = small;
        rows.push(...propagationRows(small, floor, 100));
        await createEnvironment(cluster, "fleet-big", sets[0]!);
        log(`propagation: ${plan.big.watchers} watchers on B over ${plan.big.processes} client processes, ${plan.big.deploys} deploys on A`);
        const big = await benchPropagation(cluster.a, cluster.b, "fleet-big", { watchers: plan.big.watchers, processes: plan.big.processes, sets: bigSets, checkedSets: bigChecked, checkersPerProcess: 50 });
        results.propagationBig = big;
        rows.push(...propagationRows(big, floor, 1000));
      }
    }
  } finally {
    process.off("SIGINT", stop);
    await cluster.close();
  }
}

async function main(): Promise<void> {
  const about = await machine();
  const loadAtStart = loadAverage();
  log(`${about}; load average ${loadAtStart}`);
  results.machine = about;
  results.loadAtStart = loadAtStart;
  if (only.has("hot") || only.has("cold") || only.has("propagation")) await registryParts();
  if (only.has("blob")) {
    log(`blob upload: ${plan.blobMiB} MiB through the server vs straight into FsBlobStore`);
    const blob = await runBlobUploadBench(plan.blobMiB);
    results.blob = blob;
    rows.push(
      { measure: `blob upload, ${blob.mib} MiB (PUT /blobs)`, pinset: `${blob.serverMBps.toFixed(0)} MB/s`, baseline: `same bytes into FsBlobStore: ${blob.directMBps.toFixed(0)} MB/s`, target: "" },
      { measure: "server RSS during that upload: peak (growth)", pinset: `${blob.rssPeakMiB.toFixed(0)} MiB (+${blob.rssGrowthMiB.toFixed(1)} MiB)`, baseline: `${blob.rssBeforeMiB.toFixed(0)} MiB before`, target: "growth < 100 MiB", pass: blob.rssGrowthMiB < 100 },
    );
  }
  if (only.has("publish-contention")) {
    const c = await benchPublishContention(adminUrl, { total: plan.contention, log });
    results.publishContention = c;
    rows.push(
      {
        measure: `publishes to ONE name, ${c.writers} writers, ${c.oneName.publishes.toLocaleString("en")} distinct contents (Postgres): retries`,
        pinset: `${c.oneName.retries} retries${c.oneName.consecutive ? ", versions 1..n consecutive" : ", versions NOT consecutive"}`,
        baseline: `${c.writers} names, same writers and count: ${c.eightNames.retries} retries`,
        target: "0 retries",
        pass: c.oneName.retries === 0 && c.oneName.consecutive === true,
      },
      {
        measure: "  publishes/s: one name / one name per writer",
        pinset: `${c.oneName.perSecond.toFixed(0)} /s (${c.oneName.seconds.toFixed(1)} s)`,
        baseline: `${c.eightNames.perSecond.toFixed(0)} /s (${c.eightNames.seconds.toFixed(1)} s)`,
        target: "",
      },
    );
  }
  if (only.has("schema-stall")) {
    const stall = await benchSchemaStall({ log });
    results.schemaStall = stall;
    for (const c of stall.cases) {
      rows.push({
        measure: `hostile contract: ${c.name} (${(c.bytes / 1e6).toFixed(2)} MB): answer, then /healthz max during it (${c.healthz.n} probes)`,
        pinset: `${c.status || c.failure} in ${ms(c.answerMs)}; /healthz max ${ms(c.healthz.max)}, p99 ${ms(c.healthz.p99)}${c.probeErrors ? `, ${c.probeErrors} probes failed` : ""}`,
        baseline: `/healthz alone: max ${ms(stall.idle.max)}, p99 ${ms(stall.idle.p99)}`,
        target: "/healthz max < 50 ms",
        pass: c.healthz.max < 50 && c.probeErrors === 0,
      });
    }
  }
  for (const part of ["publish", "subject"] as const) {
    if (only.has(part)) rows.push(...(await extraRows(part, { quick, publish: plan.publish, log, results })));
  }
  if (only.has("hang")) rows.push(...(await dbHangRows(log, results)));
  if (only.has("history")) {
    const history = await historyAtBench(adminUrl, { lookups: quick ? 100 : 400, log });
    results.historyAt = history;
    const [small, big] = history.sizes as [HistoryAtResult["sizes"][number], HistoryAtResult["sizes"][number]];
    for (const size of history.sizes) {
      rows.push({
        measure: `resolve?at= lookup, median of ${history.lookups}: ${size.entries.toLocaleString("en")} history entries`,
        pinset: ms(size.indexedMs),
        baseline: `ordered by revision (before): ${ms(size.byRevisionMs)}`,
        target: "",
      });
    }
    rows.push({
      measure: "resolve?at= lookup: 1 000 ÷ 100 000 entries (flat = 1)",
      pinset: (small.indexedMs / big.indexedMs).toFixed(2),
      baseline: `ordered by revision: ${(small.byRevisionMs / big.byRevisionMs).toFixed(2)}`,
      target: "≥ 0.8",
      pass: small.indexedMs / big.indexedMs >= 0.8,
    });
  }
  if (only.has("routes")) {
    log(`non-hot routes: ${plan.routes.rounds} round(s) of ${plan.routes.seconds} s per route, registry and bare server interleaved`);
    const routes = await benchRoutes(adminUrl, { ...plan.routes, log });
    results.routes = routes;
    rows.push(...routeRows(routes));
  }
  if (only.has("gc")) {
    const gc = await benchGc(adminUrl, log);
    results.gc = gc.result;
    rows.push(...gc.rows);
  }
  if (only.has("startup")) {
    const rounds = Number(values.rounds ?? (quick ? 5 : 7));
    if (!Number.isSafeInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got "${values.rounds}"`);
    rows.push(...(await benchStartup({ adminUrl, rounds, log, results })));
  }
  if (only.has("embedded")) {
    const embedded = await benchEmbedded({ quick, log });
    results.embedded = embedded.result;
    rows.push(...embedded.rows);
  }
  if (only.has("gates")) {
    const seed = Number(values.seed);
    if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be an integer, got "${values.seed}"`);
    const gates = runGateBench({ ...DEFAULT_GATE_BENCH, seed }, log);
    results.gates = { seed, seconds: gates.seconds, figures: gates.figures };
    rows.push(...gates.rows, {
      measure: `gate bench: ${gates.options.rollouts} rollouts per scenario × ${gates.options.windows} windows of ${gates.options.requests} requests per side (seed ${seed})`,
      pinset: `${gates.seconds.toFixed(1)} s`,
      baseline: "",
      target: "",
    });
  }
  const table = renderTable(rows);
  process.stdout.write(`\nPinset bench${quick ? " (--quick)" : ""} — ${new Date().toISOString()}\nmachine: ${about}${needsPostgres ? `\nregistry processes: LOG_LEVEL=${SERVER_LOG_LEVEL} (the default), rate limits off` : ""}\nload average (1/5/15 min) at start: ${loadAtStart}, at end: ${loadAverage()}\n\n${table}\n`);
  if (values.json) await writeFile(values.json, `${JSON.stringify({ ...results, rows }, null, 2)}\n`);
  process.exit(rows.some((r) => r.pass === false) ? 1 : 0);
}

await main();
