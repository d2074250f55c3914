import { Counter, Gauge, type Registry } from "prom-client";

/** How long a read of the per-project byte totals is reused: it sums over every blob link. */
const BYTES_TTL_MS = 30_000;

/**
 * pinset_gc_runs_total{dry_run,outcome}, pinset_gc_bytes_freed_total and
 * pinset_blob_store_bytes{project} (from the database's rows, read at most every 30 s; a failed
 * read leaves the last values).
 */
export function registerGcMetrics(registry: Registry, bytesByProject: () => Promise<Array<{ project: string; bytes: number }>>) {
  const runs = new Counter({
    name: "pinset_gc_runs_total",
    help: "Garbage collection runs by kind and outcome",
    labelNames: ["dry_run", "outcome"] as const,
    registers: [registry],
  });
  const bytesFreed = new Counter({ name: "pinset_gc_bytes_freed_total", help: "Blob bytes deleted from the blob store by garbage collection", registers: [registry] });
  let last: { at: number; values: Array<{ project: string; bytes: number }> } | undefined;
  let reading: Promise<void> | undefined;
  const refresh = async () => {
    if (last && Date.now() - last.at < BYTES_TTL_MS) return;
    reading ??= bytesByProject()
      .then((values) => void (last = { at: Date.now(), values }))
      .catch(() => {})
      .finally(() => (reading = undefined));
    await reading;
  };
  new Gauge({
    name: "pinset_blob_store_bytes",
    help: "Bytes of the blobs each project has linked, by the database's accounting (a blob shared by projects counts for each)",
    labelNames: ["project"] as const,
    registers: [registry],
    async collect() {
      await refresh();
      this.reset();
      for (const v of last?.values ?? []) this.set({ project: v.project }, v.bytes);
    },
  });
  return {
    recordRun(dryRun: boolean, outcome: "finished" | "failed", freed: number) {
      runs.inc({ dry_run: String(dryRun), outcome });
      if (freed > 0) bytesFreed.inc(freed);
    },
    /** The next scrape reads the database again (after a run changed the totals). */
    invalidate() {
      last = undefined;
    },
  };
}

export type GcMetrics = ReturnType<typeof registerGcMetrics>;
