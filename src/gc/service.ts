import type { BlobStore } from "../blobs/ports.js";
import { ConflictError, UnprocessableError, type FieldError } from "../core/errors.js";
import type { Actor } from "../core/actor.js";
import { decodeCursor, toPage, type Page } from "../core/page.js";
import type { Transactions } from "../core/transaction.js";
import type { Logger } from "../logger.js";
import type { ProjectDirectory } from "../projects/ports.js";
import { Collector, type GcHook, type GcReport } from "./collector.js";
import type { GcMetrics } from "./metrics.js";
import { DEFAULT_GC_OPTIONS, MAX_KEEP_LAST, MAX_RETENTION_DAYS, type GcOptions, type Retention } from "./settings.js";
import type { CollectionStore, GcAudit, GcRunRecord, GcStore, WebhookHousekeeping } from "./ports.js";

export interface GcRunView {
  id: string;
  project: string | null;
  dry_run: boolean;
  state: GcRunRecord["state"];
  trigger: GcRunRecord["trigger"];
  actor: string | null;
  started_at: string;
  finished_at: string | null;
  report: GcReport | null;
  error: string | null;
}

function present(row: GcRunRecord): GcRunView {
  return {
    id: row.id,
    project: row.project,
    dry_run: row.dry_run,
    state: row.state,
    trigger: row.trigger,
    actor: row.actor,
    started_at: row.started_at.toISOString(),
    finished_at: row.finished_at ? row.finished_at.toISOString() : null,
    report: (row.report as GcReport | null) ?? null,
    error: row.error,
  };
}

export class GcRunningError extends ConflictError {
  constructor() {
    super("A garbage collection is already running; wait for it to finish (GET /v1/admin/gc/runs)", "gc_running");
  }
}

export interface GcServiceDeps {
  /** Retention settings and runs, on the application's handle. */
  store: GcStore;
  projects: ProjectDirectory;
  audit: GcAudit;
  transactions: Transactions;
  /**
   * The collection's statements and their transactions: on a handle without the request-path
   * time budgets (they scan every blob row).
   */
  collection: { store: CollectionStore; transactions: Transactions; webhooks: WebhookHousekeeping };
  blobStore: Pick<BlobStore, "delete">;
  logger: Logger;
  options?: Partial<GcOptions>;
  metrics?: GcMetrics;
  hook?: GcHook;
  onRetired?: () => void;
}

/**
 * Retention settings and collection runs. A run is recorded in `gc_runs`; the partial unique
 * index there admits one running collection across every instance, and a heartbeat lets the
 * next run take over from a process that died.
 */
export class GcService {
  private readonly store: GcStore;
  private readonly options: GcOptions;
  private readonly log: Logger;

  constructor(private readonly deps: GcServiceDeps) {
    this.store = deps.store;
    this.options = { ...DEFAULT_GC_OPTIONS, ...deps.options };
    this.log = deps.logger.child({ module: "gc" });
  }

  async retention(project: string): Promise<Retention> {
    await this.deps.projects.require(project);
    return this.store.retention(project);
  }

  async setRetention(actor: Actor, project: string, input: Partial<Retention>): Promise<Retention> {
    await this.deps.projects.require(project);
    const errors: FieldError[] = [];
    if (input.days !== undefined && (input.days < 0 || input.days > MAX_RETENTION_DAYS)) errors.push({ path: "body.days", message: `must be between 0 and ${MAX_RETENTION_DAYS}` });
    if (input.keep_last !== undefined && (input.keep_last < 1 || input.keep_last > MAX_KEEP_LAST)) errors.push({ path: "body.keep_last", message: `must be between 1 and ${MAX_KEEP_LAST}` });
    if (errors.length > 0) throw new UnprocessableError("The retention settings are out of range; nothing was changed", errors);
    return this.deps.transactions.run(async (tx) => {
      const before = await this.store.retention(project, tx);
      const after = { days: input.days ?? before.days, keep_last: input.keep_last ?? before.keep_last };
      await this.store.setRetention(tx, project, after, actor.name);
      await this.deps.audit.record(tx, actor, { project, action: "retention.update", target: `project/${project}/retention`, before, after });
      return after;
    });
  }

  /** One collection; 409 gc_running when another is running anywhere. */
  async run(input: { dryRun: boolean; project?: string; trigger: "api" | "schedule"; actor: Actor | null }): Promise<GcRunView> {
    if (input.project !== undefined) await this.deps.projects.require(input.project);
    let row: GcRunRecord;
    try {
      row = await this.store.startRun({ project: input.project ?? null, dryRun: input.dryRun, trigger: input.trigger, actor: input.actor?.name ?? null, leaseMs: this.options.leaseMs });
    } catch (err) {
      if (err instanceof ConflictError) throw new GcRunningError();
      throw err;
    }
    const beat = setInterval(() => void this.store.heartbeat(row.id).catch(() => {}), Math.max(100, Math.floor(this.options.leaseMs / 4)));
    beat.unref();
    const collector = new Collector({
      collection: this.deps.collection.store,
      transactions: this.deps.collection.transactions,
      webhooks: this.deps.collection.webhooks,
      blobStore: this.deps.blobStore,
      options: this.options,
      ...(this.deps.hook ? { hook: this.deps.hook } : {}),
      ...(this.deps.onRetired ? { onRetired: this.deps.onRetired } : {}),
    });
    try {
      const report = await collector.run({ dryRun: input.dryRun, ...(input.project !== undefined ? { project: input.project } : {}) });
      const done = await this.store.finishRun(row.id, { state: "finished", report });
      // A real run deleted bytes: the audit log says who and what (it is never pruned).
      if (!input.dryRun && input.actor) {
        const actor = input.actor;
        await this.deps.transactions.run((tx) =>
          this.deps.audit.record(tx, actor, { project: input.project ?? null, action: "gc.run", target: `gc/${row.id}`, after: { total: report.total, housekeeping: report.housekeeping } }),
        );
      }
      this.deps.metrics?.recordRun(input.dryRun, "finished", input.dryRun ? 0 : report.total.bytes);
      if (!input.dryRun) this.deps.metrics?.invalidate();
      this.log.info({ run: row.id, dry_run: input.dryRun, project: input.project, total: report.total, housekeeping: report.housekeeping }, "garbage collection finished");
      return present(done);
    } catch (err) {
      this.deps.metrics?.recordRun(input.dryRun, "failed", 0);
      await this.store.finishRun(row.id, { state: "failed", error: (err as Error)?.message ?? String(err) }).catch(() => {});
      throw err;
    } finally {
      clearInterval(beat);
    }
  }

  async runs(page: { limit: number; cursor?: string }): Promise<Page<GcRunView>> {
    const rows = await this.store.listRuns({ before: decodeCursor(page.cursor), limit: page.limit + 1 });
    return toPage(rows, page.limit, (r) => r.seq, present);
  }
}
