/**
 * A registry process on a Postgres cluster whose processes are stopped (SIGSTOP: the database
 * hangs instead of refusing), beside the same requests while it answers, in the same run:
 *
 *   npx tsx scripts/bench-db-hang.ts [--json out.json]
 *
 * Measures a cached resolve (its token's cache entry expired, so the registry asks the database),
 * a deploy, and `/readyz`; each request is given up after 20 s. Then SIGCONT, a second stop in
 * which a deploy is the first request to meet the hang, and how long after SIGCONT until
 * resolve is fresh and a deploy succeeds again. Needs root and the PostgreSQL 15 binaries (the
 * cluster is private: test/support/private-postgres.ts).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createPrivatePostgres, privatePostgresAvailable, type PrivatePostgres } from "../test/support/private-postgres.js";
import { spawnServer, type SpawnedServer } from "../test/support/spawn-server.js";
import type { Row } from "./bench/table.js";

const ADMIN = "bench-admin-token-0123456789abcdef";
const GIVE_UP_MS = 20_000;
const TOKEN_CACHE_MS = 1_100;

interface Timed {
  ms: number;
  status: number | "no answer";
  stale?: boolean;
  code?: string;
}

export interface DbHangResult {
  load: string;
  answering: Record<"resolve" | "deploy" | "readyz", Timed>;
  /** Stopped with resolves first: the resolves meet the hang first, then a deploy and /readyz. */
  hung: { resolves: Timed[]; deploy: Timed; readyz: Timed; readyzAgain: Timed };
  /** Stopped again with a deploy first: the write meets the hang first. */
  hungWriteFirst: { deploy: Timed; readyz: Timed };
  recovery: { freshResolveMs: number; deployOkMs: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function timed(url: string, init: RequestInit = {}): Promise<Timed> {
  const started = performance.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(GIVE_UP_MS) });
    const text = await res.text();
    let code: string | undefined;
    try {
      code = (JSON.parse(text) as { code?: string }).code;
    } catch {
      code = undefined;
    }
    return { ms: performance.now() - started, status: res.status, stale: res.headers.get("x-pinset-stale") === "true", ...(code ? { code } : {}) };
  } catch {
    return { ms: performance.now() - started, status: "no answer" };
  }
}

export async function runDbHangBench(log: (line: string) => void = () => {}): Promise<DbHangResult> {
  if (!privatePostgresAvailable()) throw new Error("needs root and /usr/lib/postgresql/15/bin (a private cluster it can SIGSTOP)");
  let cluster: PrivatePostgres | undefined;
  let server: SpawnedServer | undefined;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "pinset-hang-"));
  try {
    cluster = await createPrivatePostgres();
    server = await spawnServer({ DATABASE_URL: cluster.url, PINSET_ADMIN_TOKEN: ADMIN, PINSET_DATA_DIR: dataDir, PINSET_RATE_LIMIT_RPS: "0" });
    const base = server.url;
    const call = (method: string, p: string, body?: unknown, token = ADMIN) =>
      fetch(`${base}${p}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, ...(body ? { body: JSON.stringify(body) } : {}) });
    await call("PUT", "/v1/projects/hang");
    const sets: string[] = [];
    for (const v of [1, 2]) {
      await call("POST", "/v1/projects/hang/artifacts/config/app", { content: { values: { v } } });
      const set = (await (await call("POST", "/v1/projects/hang/version-sets", { components: { "config.app": `config/app@${v}` } })).json()) as { id: string };
      sets.push(set.id);
    }
    await call("PUT", "/v1/projects/hang/environments/prod");
    await call("POST", "/v1/projects/hang/environments/prod/deploy", { version_set: sets[0] });
    const created = (await (await call("POST", "/v1/tokens", { name: "runtime", scopes: ["read"], projects: ["hang"] })).json()) as { token: string };
    const resolveUrl = `${base}/v1/projects/hang/environments/prod/resolve`;
    const runtime = { headers: { authorization: `Bearer ${created.token}` } };
    const deploy = (n: number) => ({
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ version_set: sets[n % 2], reason: "bench" }),
    });
    await timed(resolveUrl, runtime);

    log("answering database: cached resolve (token re-read), deploy, /readyz");
    await sleep(TOKEN_CACHE_MS);
    const answering = {
      resolve: await timed(resolveUrl, runtime),
      deploy: await timed(`${base}/v1/projects/hang/environments/prod/deploy`, deploy(1)),
      readyz: await timed(`${base}/readyz`),
    };
    // The deploy changed what resolve serves: this instance serves (and so caches) the new set.
    await timed(resolveUrl, runtime);

    log("SIGSTOP: cached resolves (one per 1.2 s), a deploy, /readyz");
    await cluster.pause();
    const resolves: Timed[] = [];
    for (let i = 0; i < 4; i++) {
      await sleep(TOKEN_CACHE_MS);
      resolves.push(await timed(resolveUrl, runtime));
    }
    const hungDeploy = await timed(`${base}/v1/projects/hang/environments/prod/deploy`, deploy(2));
    const readyz = await timed(`${base}/readyz`);
    const readyzAgain = await timed(`${base}/readyz`);

    await cluster.resume();
    await sleep(2_000);

    log("SIGSTOP again: a deploy first, then /readyz");
    await cluster.pause();
    const hungWriteFirst = {
      deploy: await timed(`${base}/v1/projects/hang/environments/prod/deploy`, deploy(2)),
      readyz: await timed(`${base}/readyz`),
    };

    log("SIGCONT: time to a fresh resolve and a successful deploy");
    await cluster.resume();
    const resumed = performance.now();
    let freshResolveMs = Number.NaN;
    let deployOkMs = Number.NaN;
    for (let n = 3; performance.now() - resumed < 60_000 && (Number.isNaN(freshResolveMs) || Number.isNaN(deployOkMs)); n++) {
      if (Number.isNaN(freshResolveMs)) {
        const r = await timed(resolveUrl, runtime);
        if (r.status === 200 && !r.stale) freshResolveMs = performance.now() - resumed;
      }
      if (Number.isNaN(deployOkMs)) {
        const d = await timed(`${base}/v1/projects/hang/environments/prod/deploy`, deploy(n));
        if (d.status === 200) deployOkMs = performance.now() - resumed;
      }
      await sleep(50);
    }
    return {
      load: os.loadavg().map((v) => v.toFixed(2)).join(" / "),
      answering,
      hung: { resolves, deploy: hungDeploy, readyz, readyzAgain },
      hungWriteFirst,
      recovery: { freshResolveMs, deployOkMs },
    };
  } finally {
    await server?.stop();
    await cluster?.destroy();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Rows for `npm run bench` (part `hang`): each measure beside the answering database, with targets. */
export async function dbHangRows(log: (line: string) => void, results: Record<string, unknown>): Promise<Row[]> {
  if (!privatePostgresAvailable()) return [{ measure: "database hang (SIGSTOP)", pinset: "not run: needs root and the PostgreSQL 15 binaries", baseline: "", target: "" }];
  log("database hang: a registry on a private cluster stopped with SIGSTOP");
  const r = await runDbHangBench(log);
  results.dbHang = r;
  const worst = Math.max(...r.hung.resolves.map((t) => (t.status === 200 ? t.ms : Number.POSITIVE_INFINITY)));
  return [
    {
      measure: "database stopped: cached resolve whose token needs a re-check (worst of 4)",
      pinset: r.hung.resolves.map(show).join("; "),
      baseline: `answering: ${show(r.answering.resolve)}`,
      target: "200 within 1 000 ms",
      pass: worst < 1_000,
    },
    {
      measure: "database stopped: deploy as the first request to meet the hang",
      pinset: show(r.hungWriteFirst.deploy),
      baseline: `answering: ${show(r.answering.deploy)}`,
      target: "503 within the 5 000 ms write budget",
      pass: r.hungWriteFirst.deploy.status === 503 && r.hungWriteFirst.deploy.ms < 5_000 + 500,
    },
    {
      measure: "database stopped: /readyz",
      pinset: `${show(r.hung.readyz)}; ${show(r.hung.readyzAgain)}`,
      baseline: `answering: ${show(r.answering.readyz)}`,
      target: "503 within 1 000 ms",
      pass: [r.hung.readyz, r.hung.readyzAgain].every((t) => t.status === 503 && t.ms < 1_000),
    },
    {
      measure: "after SIGCONT: fresh resolve / deploy accepted",
      pinset: `${r.recovery.freshResolveMs.toFixed(0)} ms / ${r.recovery.deployOkMs.toFixed(0)} ms`,
      baseline: "",
      target: "",
    },
  ];
}

const show = (t: Timed) => `${t.status}${t.code ? ` ${t.code}` : ""}${t.stale ? " stale" : ""} in ${t.ms.toFixed(0)} ms`;

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { json: { type: "string" } } });
  const r = await runDbHangBench((line) => process.stderr.write(`bench-db-hang: ${line}\n`));
  const lines = [
    `load average (1/5/15 min) at the end: ${r.load}`,
    `| request | database answering | database stopped (SIGSTOP) |`,
    `| --- | --- | --- |`,
    `| cached resolve (token cache expired) | ${show(r.answering.resolve)} | ${r.hung.resolves.map(show).join("; ")} |`,
    `| deploy | ${show(r.answering.deploy)} | after the resolves: ${show(r.hung.deploy)}; as the first request: ${show(r.hungWriteFirst.deploy)} |`,
    `| /readyz | ${show(r.answering.readyz)} | ${show(r.hung.readyz)}; again: ${show(r.hung.readyzAgain)}; after a first-request deploy: ${show(r.hungWriteFirst.readyz)} |`,
    `after SIGCONT: fresh resolve after ${r.recovery.freshResolveMs.toFixed(0)} ms, deploy 200 after ${r.recovery.deployOkMs.toFixed(0)} ms`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  if (values.json) await writeFile(values.json, JSON.stringify(r, null, 2));
}
