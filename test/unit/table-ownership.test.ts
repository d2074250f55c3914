import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Each domain owns its tables (docs/architecture.md): only its stores query them. This reads
 * every file under src/<domain>/ for the tables it names in Kysely calls and in `sql` templates,
 * and refuses (1) a table of another domain and (2) SQL outside a store file, except the named,
 * reasoned EXCEPTIONS below.
 */
const OWNER: Record<string, string> = {
  projects: "projects",
  blobs: "blobs",
  blob_links: "blobs",
  artifacts: "artifacts",
  artifact_blobs: "artifacts",
  tokens: "auth",
  audit_log: "audit",
  version_sets: "version-sets",
  environments: "environments",
  environment_history: "environments",
  webhooks: "webhooks",
  webhook_outbox: "webhooks",
  webhook_attempts: "webhooks",
  rollouts: "rollouts",
  rollout_observations: "rollouts",
  gate_policies: "rollouts",
  evidence_packs: "rollouts",
  analysis_configs: "analysis",
  analysis_runs: "analysis",
  retention_settings: "gc",
  gc_runs: "gc",
  incidents: "incidents",
};

/**
 * Named, permanent exceptions, each with its reason (docs/architecture.md lists them too).
 *
 * The garbage collector's mark and sweep (src/gc/collection-store.ts, with its SQL text in
 * src/gc/reachable.ts): what is reachable is one set operation across every domain's tables,
 * evaluated in ONE statement so it sees one snapshot, and re-decided inside the locking
 * statements of retire and claim so it sees every deploy and publish that committed while the
 * locks were awaited. Behind the owners' ports it would be several snapshots (a deploy committing
 * between two reads could leave a set kept by neither) and per-set round trips over 100 000
 * versions and 1 000 000 blob rows (bench part gc).
 */
const EXCEPTIONS: Record<string, string> = {
  "src/gc/collection-store.ts: reads artifacts (owned by artifacts)": "gc mark and sweep: one snapshot, set-based (see above)",
  "src/gc/collection-store.ts: reads blob_links (owned by blobs)": "gc mark and sweep: one snapshot, set-based (see above)",
  "src/gc/collection-store.ts: reads blobs (owned by blobs)": "gc mark and sweep: one snapshot, set-based (see above)",
  "src/gc/reachable.ts: SQL outside a store (retention_settings)": "the mark's SQL text, run only by collection-store.ts",
  "src/gc/reachable.ts: reads artifact_blobs (owned by artifacts)": "the mark's SQL text, run only by collection-store.ts",
  "src/gc/reachable.ts: reads artifacts (owned by artifacts)": "the mark's SQL text, run only by collection-store.ts",
  "src/gc/reachable.ts: reads environment_history (owned by environments)": "the mark's SQL text, run only by collection-store.ts",
  "src/gc/reachable.ts: reads environments (owned by environments)": "the mark's SQL text, run only by collection-store.ts",
  "src/gc/reachable.ts: reads evidence_packs (owned by rollouts)": "the mark's SQL text, run only by collection-store.ts",
  "src/gc/reachable.ts: reads incidents (owned by incidents)": "the mark's SQL text, run only by collection-store.ts",
  "src/gc/reachable.ts: reads projects (owned by projects)": "the mark's SQL text, run only by collection-store.ts",
  "src/gc/reachable.ts: reads rollouts (owned by rollouts)": "the mark's SQL text, run only by collection-store.ts",
  "src/gc/reachable.ts: reads version_sets (owned by version-sets)": "the mark's SQL text, run only by collection-store.ts",
};

const BUILDER = /\b(?:selectFrom|insertInto|updateTable|deleteFrom|innerJoin|leftJoin|rightJoin|fullJoin|mergeInto)\(\s*["'`]([a-z_]+)/g;
const SQL_TEMPLATE = /\bsql(?:<[^>`]*>)?`([^`]*)`/g;
const SQL_TABLE = /\b(?:from|join|into|update|table)\s+"?([a-z_]+)"?/gi;

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(full)));
    else if (entry.name.endsWith(".ts")) out.push(full);
  }
  return out;
}

async function violations(): Promise<string[]> {
  const found = new Set<string>();
  const domains = new Set(Object.values(OWNER));
  for (const domain of domains) {
    for (const file of await filesUnder(path.join("src", domain))) {
      const text = await readFile(file, "utf8");
      const tables = new Set<string>();
      for (const m of text.matchAll(BUILDER)) tables.add(m[1]!);
      for (const t of text.matchAll(SQL_TEMPLATE)) for (const m of t[1]!.matchAll(SQL_TABLE)) if (m[1]! in OWNER) tables.add(m[1]!);
      const isStore = /store\.ts$/.test(file);
      // Raw SQL naming no table (pg_notify, now()) is still SQL: it belongs in a store too.
      if (!isStore && tables.size === 0 && /\bsql(?:<[^>`]*>)?`/.test(text)) found.add(`${file}: SQL outside a store`);
      for (const table of tables) {
        const owner = OWNER[table];
        if (owner === undefined) continue;
        if (owner !== domain) found.add(`${file}: reads ${table} (owned by ${owner})`);
        else if (!isStore) found.add(`${file}: SQL outside a store (${table})`);
      }
    }
  }
  return [...found].sort();
}

describe("table ownership", () => {
  it("no domain queries another domain's tables, and SQL sits only in stores", async () => {
    const now = await violations();
    expect(now.filter((v) => !(v in EXCEPTIONS))).toEqual([]);
  });

  it("every named exception still exists", async () => {
    const now = new Set(await violations());
    expect(Object.keys(EXCEPTIONS).filter((v) => !now.has(v))).toEqual([]);
  });
});
