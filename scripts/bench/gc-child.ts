/**
 * One measured step of the gc bench in a process of its own, so its peak RSS is its own:
 * `tsx scripts/bench/gc-child.ts <dry-run|count> <database-url>` prints {"ms", "maxRssMiB", …}.
 * `dry-run` is what `POST /v1/admin/gc {"dry_run": true}` runs (KyselyCollectionStore.preview); `bytes` is the
 * read behind pinset_blob_store_bytes (KyselyCollectionStore.bytesByProject); `count` is
 * the baseline: a bare count(*) over the same tables, on the same kind of connection.
 */
import { readFileSync } from "node:fs";
import { sql } from "kysely";
import { connectPostgres } from "../../src/db/connect.js";
import { DEFAULT_GRACE_MS } from "../../src/gc/settings.js";
import { KyselyCollectionStore } from "../../src/gc/collection-store.js";

const [mode, url] = process.argv.slice(2);
if ((mode !== "dry-run" && mode !== "count" && mode !== "bytes") || !url) throw new Error("usage: gc-child <dry-run|count|bytes> <database-url>");
const handle = connectPostgres({ url, max: 2 });
await sql`select 1`.execute(handle.db);
const started = performance.now();
let detail: unknown;
if (mode === "dry-run") {
  detail = (await new KyselyCollectionStore(handle.db).preview({ graceMs: DEFAULT_GRACE_MS })).total;
} else if (mode === "bytes") {
  detail = (await new KyselyCollectionStore(handle.db).bytesByProject()).length;
} else {
  const counts = await sql<{ blobs: string; links: string; refs: string; versions: string }>`
    select (select count(*) from blobs) as blobs, (select count(*) from blob_links) as links,
           (select count(*) from artifact_blobs) as refs, (select count(*) from artifacts) as versions`.execute(handle.db);
  detail = counts.rows[0];
}
const ms = performance.now() - started;
await handle.close();
process.stdout.write(`${JSON.stringify({ ms, maxRssMiB: ownPeakRssMiB(), detail })}\n`);

/**
 * This process's own peak RSS. Not `resourceUsage().maxRSS`: on Linux a child forked from the
 * bench inherits the bench's high-water mark at the fork (the parent's memory was its memory
 * until exec), so in a full `npm run bench` every child reported the bench's ~420 MiB. VmHWM
 * is the high-water mark of the memory this program has run in, which exec started afresh.
 */
function ownPeakRssMiB(): number {
  try {
    const kib = /VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    if (kib !== undefined) return Number(kib) / 1024;
  } catch {
    // Not Linux: fall through to what the OS gives.
  }
  return process.resourceUsage().maxRSS / 1024;
}
