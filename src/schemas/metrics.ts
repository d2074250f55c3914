import { Counter, Gauge, type Registry } from "prom-client";

export type SchemaJobOutcome = "ok" | "timeout" | "out_of_memory" | "busy" | "failed";

/**
 * `pinset_schema_jobs_total{job, outcome}`: schema compiles (publish) and comparisons (diff) in
 * the worker pool, by outcome — a rising `timeout` means hostile or oversized schemas, `busy`
 * that PINSET_SCHEMA_WORKERS / PINSET_SCHEMA_QUEUE are too small. Also jobs running and waiting.
 */
export function registerSchemaMetrics(registry: Registry, pool: () => { running: number; queued: number }): (job: "compile" | "diff", outcome: SchemaJobOutcome) => void {
  const jobs = new Counter({
    name: "pinset_schema_jobs_total",
    help: "JSON Schema compiles and comparisons run in worker threads, by job and outcome",
    labelNames: ["job", "outcome"] as const,
    registers: [registry],
  });
  new Gauge({
    name: "pinset_schema_jobs_running",
    help: "Schema jobs running in a worker thread now",
    registers: [registry],
    collect() {
      this.set(pool().running);
    },
  });
  new Gauge({
    name: "pinset_schema_jobs_queued",
    help: "Schema jobs waiting for a worker thread",
    registers: [registry],
    collect() {
      this.set(pool().queued);
    },
  });
  return (job, outcome) => jobs.inc({ job, outcome });
}
