import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Each domain owns its tables (docs/architecture.md): only its stores query them. This reads
 * every file under src/<domain>/ for the tables it names in Kysely calls and in `sql` templates,
 * and refuses (1) a table of another domain and (2) SQL outside a store file. `KNOWN` lists what
 * the refactor has not reached yet; it only ever shrinks.
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

const KNOWN: string[] = [
  "src/artifacts/retired.ts: SQL outside a store (artifacts)",
  "src/artifacts/retired.ts: reads version_sets (owned by version-sets)",
  "src/auth/bootstrap-admin.ts: SQL outside a store (tokens)",
  "src/blobs/link-store.ts: reads artifact_blobs (owned by artifacts)",
  "src/blobs/link-store.ts: reads artifacts (owned by artifacts)",
  "src/blobs/service.ts: SQL outside a store (blobs)",
  "src/gc/reachable.ts: SQL outside a store (retention_settings)",
  "src/gc/reachable.ts: reads artifact_blobs (owned by artifacts)",
  "src/gc/reachable.ts: reads artifacts (owned by artifacts)",
  "src/gc/reachable.ts: reads environment_history (owned by environments)",
  "src/gc/reachable.ts: reads environments (owned by environments)",
  "src/gc/reachable.ts: reads evidence_packs (owned by rollouts)",
  "src/gc/reachable.ts: reads incidents (owned by incidents)",
  "src/gc/reachable.ts: reads projects (owned by projects)",
  "src/gc/reachable.ts: reads rollouts (owned by rollouts)",
  "src/gc/reachable.ts: reads version_sets (owned by version-sets)",
  "src/gc/store.ts: reads artifacts (owned by artifacts)",
  "src/gc/store.ts: reads blob_links (owned by blobs)",
  "src/gc/store.ts: reads blobs (owned by blobs)",
  "src/gc/store.ts: reads webhook_attempts (owned by webhooks)",
  "src/gc/store.ts: reads webhook_outbox (owned by webhooks)",
  "src/incidents/service.ts: SQL outside a store (incidents)",
  "src/incidents/service.ts: reads environments (owned by environments)",
  "src/incidents/service.ts: reads rollouts (owned by rollouts)",
  "src/incidents/store.ts: reads evidence_packs (owned by rollouts)",
  "src/incidents/store.ts: reads rollout_observations (owned by rollouts)",
  "src/webhooks/outbox.ts: SQL outside a store (webhook_outbox)",
  "src/webhooks/outbox.ts: SQL outside a store (webhooks)",
  "src/webhooks/queue.ts: SQL outside a store (webhook_attempts)",
  "src/webhooks/queue.ts: SQL outside a store (webhook_outbox)",
];

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
    expect(now.filter((v) => !KNOWN.includes(v))).toEqual([]);
  });

  it("the known list names only violations that still exist", async () => {
    const now = new Set(await violations());
    expect(KNOWN.filter((v) => !now.has(v))).toEqual([]);
  });
});
