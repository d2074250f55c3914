import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { connectPostgres } from "../../src/db/connect.js";
import { migrateToLatest } from "../../src/db/migrate.js";
import { REPO_ROOT } from "../../test/support/spawn-server.js";
import type { Row } from "./table.js";

/**
 * A garbage-collection dry run over a registry generated in Postgres: 100 000 index versions
 * (10 projects × 100 names × 100 versions, created over 200 days), 1 000 000 blob rows (each
 * linked to one project; 900 000 referenced by the versions, 9 each; 100 000 never referenced),
 * 30 000 version sets, 100 environments with 30 deploys each in their history. Each measured
 * step runs in a fresh process (scripts/bench/gc-child.ts) so its peak RSS is its own; the
 * baseline is a bare count(*) over the same tables in the same kind of process.
 */
export interface GcBenchResult {
  rows: { versions: number; blobs: number; refs: number };
  generateSeconds: number;
  dryRun: { ms: number; maxRssMiB: number; detail: unknown };
  baseline: { ms: number; maxRssMiB: number; detail: unknown };
}

const run = promisify(execFile);

async function child(mode: "dry-run" | "count", url: string) {
  const { stdout } = await run(process.execPath, ["--import", "tsx", path.join("scripts", "bench", "gc-child.ts"), mode, url], { cwd: REPO_ROOT, maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split("\n").pop()!) as { ms: number; maxRssMiB: number; detail: unknown };
}

const GENERATE = [
  `insert into projects (name) select 'p' || i from generate_series(0, 9) i`,
  // a = project * 10000 + name * 100 + (version - 1); version v created (200 - 2(v-1)) days ago.
  `insert into artifacts (project, kind, name, version, digest, size, content, created_at)
   select 'p' || (a / 10000), 'index', 'kb-' || ((a / 100) % 100), (a % 100) + 1,
          'sha256:' || encode(sha256(('a' || a)::bytea), 'hex'), 12, '{"files":[]}',
          now() - make_interval(days => 200 - (a % 100) * 2)
   from generate_series(0, 99999) a`,
  `insert into blobs (digest, size, created_at, touched_at)
   select 'sha256:' || encode(sha256(('b' || b)::bytea), 'hex'), 1000 + b % 5000, now() - interval '300 days', now() - interval '300 days'
   from generate_series(0, 999999) b`,
  `insert into blob_links (project, digest, created_at)
   select 'p' || (case when b < 900000 then (b / 9) / 10000 else b % 10 end), 'sha256:' || encode(sha256(('b' || b)::bytea), 'hex'), now() - interval '300 days'
   from generate_series(0, 999999) b`,
  `insert into artifact_blobs (project, kind, name, version, digest)
   select 'p' || (a / 10000), 'index', 'kb-' || ((a / 100) % 100), (a % 100) + 1, 'sha256:' || encode(sha256(('b' || (a * 9 + k))::bytea), 'hex')
   from generate_series(0, 99999) a, generate_series(0, 8) k`,
  // A set for each of the last 30 versions of every name.
  `insert into version_sets (project, id, components, created_at)
   select a.project, 'vs_' || substr(md5(a.project || a.name || a.version), 1, 24),
          jsonb_build_object('kb', jsonb_build_object('kind', 'index', 'name', a.name, 'version', a.version, 'digest', a.digest)),
          now() - interval '300 days'
   from artifacts a where a.version > 70`,
  // Environment e of each project deploys kb-e versions 71..100, one every 5 days; 100 is active.
  `insert into environments (project, name, active, revision)
   select 'p' || p, 'e' || e, 'vs_' || substr(md5('p' || p || 'kb-' || e || 100), 1, 24), 30
   from generate_series(0, 9) p, generate_series(0, 9) e`,
  `insert into environment_history (project, environment, revision, action, version_set, previous, actor, at)
   select 'p' || p, 'e' || e, r, 'deploy', 'vs_' || substr(md5('p' || p || 'kb-' || e || (70 + r)), 1, 24),
          case when r > 1 then 'vs_' || substr(md5('p' || p || 'kb-' || e || (69 + r)), 1, 24) end, 'bench',
          now() - make_interval(days => (30 - r) * 5)
   from generate_series(0, 9) p, generate_series(0, 9) e, generate_series(1, 30) r`,
  `vacuum analyze`,
];

export async function benchGc(adminUrl: string, log: (line: string) => void): Promise<{ result: GcBenchResult; rows: Row[] }> {
  const name = `pinset_bench_gc_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  try {
    const handle = connectPostgres({ url: url.toString(), max: 1 });
    const started = performance.now();
    try {
      await migrateToLatest(handle.db);
      log("gc: generating 100 000 index versions and 1 000 000 blob rows in Postgres");
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      for (const statement of GENERATE) await client.query(statement);
      await client.end();
    } finally {
      await handle.close();
    }
    const generateSeconds = (performance.now() - started) / 1000;
    log(`gc: generated in ${generateSeconds.toFixed(1)} s; baseline count(*), then the dry run, each in a fresh process`);
    const baseline = await child("count", url.toString());
    const dryRun = await child("dry-run", url.toString());
    const counts = baseline.detail as { blobs: string; refs: string; versions: string };
    const result: GcBenchResult = { rows: { versions: Number(counts.versions), blobs: Number(counts.blobs), refs: Number(counts.refs) }, generateSeconds, dryRun, baseline };
    const total = dryRun.detail as { retired_versions: number; blobs: number; bytes: number };
    const rows: Row[] = [
      {
        measure: `gc dry run: ${result.rows.versions.toLocaleString("en")} index versions, ${result.rows.blobs.toLocaleString("en")} blob rows, ${result.rows.refs.toLocaleString("en")} references (Postgres): duration`,
        pinset: `${(dryRun.ms / 1000).toFixed(2)} s (would retire ${total.retired_versions.toLocaleString("en")}, free ${total.blobs.toLocaleString("en")} blobs)`,
        baseline: `count(*) over the same tables: ${(baseline.ms / 1000).toFixed(2)} s`,
        target: "< 60 s",
        pass: dryRun.ms < 60_000,
      },
      {
        measure: "  gc dry run: peak RSS of the process",
        pinset: `${dryRun.maxRssMiB.toFixed(0)} MiB`,
        baseline: `count(*) process: ${baseline.maxRssMiB.toFixed(0)} MiB`,
        target: "< 300 MB",
        pass: dryRun.maxRssMiB * 1.048576 < 300,
      },
    ];
    return { result, rows };
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}
