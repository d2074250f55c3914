import { blobKey } from "../blobs/keys.js";
import type { BlobStore } from "../blobs/ports.js";
import type { Transactions } from "../core/transaction.js";
import type { CollectionStore, ProjectTally, VersionKey, WebhookHousekeeping } from "./ports.js";
import type { GcOptions } from "./settings.js";

/**
 * The steps of a collection, in order. Tests interleave uploads, publishes and deploys with
 * each one (hooks); `claimed`, `locked` and `bytes_deleted` happen with the batch's rows still
 * locked by the collector's transaction, so whatever touches those rows waits for its commit.
 */
export type GcStep =
  | "marked"
  | "retire_locked"
  | "retired"
  | "claim_locked"
  | "claimed"
  | "sweep_locked"
  | "bytes_deleted"
  | "swept";

export type GcHook = (step: GcStep, detail: { digests?: string[]; versions?: VersionKey[] }) => Promise<void> | void;

export interface GcReport {
  dry_run: boolean;
  project: string | null;
  projects: ProjectTally[];
  total: { retired_versions: number; blobs: number; bytes: number };
  housekeeping: { outbox_rows: number; attempts: number };
}

/**
 * Mark and sweep, online. Nothing is deleted on the strength of the mark alone:
 *
 * 1. retire: each batch of retirable index versions is update-locked, and only then is
 *    "still retirable" decided, by a statement that sees every deploy committed meanwhile;
 * 2. claim: each batch of dead blobs is update-locked, and those still dead get `gc_claimed_at`
 *    (committed): from here on an upload stores the bytes again and a publish revives the
 *    blob only after checking its bytes are there;
 * 3. sweep: in a second transaction the rows still claimed are locked again, their bytes
 *    deleted from the store, then the rows. A process killed at any point leaves rows that are
 *    claimed or not (never a live blob without bytes), and the next run finishes the claimed ones.
 */
export class Collector {
  private readonly store: CollectionStore;

  constructor(
    private readonly deps: {
      /** The mark and sweep statements, and transactions on the same (unbudgeted) handle. */
      collection: CollectionStore;
      transactions: Transactions;
      webhooks: WebhookHousekeeping;
      blobStore: Pick<BlobStore, "delete">;
      options: GcOptions;
      hook?: GcHook;
      /** Called after versions were retired (bundle caches that may hold them forget them). */
      onRetired?: () => void;
      /** Called after every batch, so a long run keeps its lease. */
      onProgress?: () => Promise<void>;
    },
  ) {
    this.store = deps.collection;
  }

  async run(input: { dryRun: boolean; project?: string }): Promise<GcReport> {
    const { graceMs, webhookRetentionDays } = this.deps.options;
    const scope = { graceMs, ...(input.project !== undefined ? { project: input.project } : {}) };
    if (input.dryRun) {
      const preview = await this.store.preview(scope);
      await this.step("marked", {});
      return { dry_run: true, project: input.project ?? null, ...preview, housekeeping: { outbox_rows: 0, attempts: 0 } };
    }

    const tallies = new Map<string, ProjectTally>();
    const tally = (project: string) => {
      let t = tallies.get(project);
      if (!t) tallies.set(project, (t = { project, retired_versions: 0, blobs: 0, bytes: 0 }));
      return t;
    };
    const total = { retired_versions: 0, blobs: 0, bytes: 0 };

    const retirable = await this.store.retirable(scope);
    await this.step("marked", { versions: retirable });
    for (const batch of byProjectBatches(retirable, this.deps.options.batchSize)) {
      const retired = await this.deps.transactions.run(async (trx) => {
        const done = await this.store.retire(trx, batch.project, batch.keys, graceMs);
        await this.step("retire_locked", { versions: done });
        return done;
      });
      if (retired.length > 0) this.deps.onRetired?.();
      tally(batch.project).retired_versions += retired.length;
      total.retired_versions += retired.length;
      await this.step("retired", { versions: retired });
      await this.deps.onProgress?.();
    }

    let after = "";
    for (;;) {
      const candidates = await this.store.deadDigests({ ...scope, after, limit: this.deps.options.batchSize });
      if (candidates.length === 0) break;
      after = candidates[candidates.length - 1]!;
      const claimed = await this.deps.transactions.run(async (trx) => {
        const rows = await this.store.claim(trx, candidates, graceMs);
        await this.step("claim_locked", { digests: rows });
        return rows;
      });
      await this.step("claimed", { digests: claimed });
      if (claimed.length > 0) await this.sweep(claimed, tally, total);
      await this.deps.onProgress?.();
    }

    const housekeeping = await this.deps.webhooks.prune(webhookRetentionDays);
    return {
      dry_run: false,
      project: input.project ?? null,
      projects: [...tallies.values()].sort((a, b) => a.project.localeCompare(b.project)),
      total,
      housekeeping,
    };
  }

  private async sweep(claimed: string[], tally: (p: string) => ProjectTally, total: GcReport["total"]): Promise<void> {
    const freed = await this.deps.transactions.run(async (trx) => {
      const rows = await this.store.lockClaimed(trx, claimed);
      const digests = rows.map((r) => r.digest);
      await this.step("sweep_locked", { digests });
      for (const digest of digests) await this.deps.blobStore.delete(blobKey(digest));
      await this.step("bytes_deleted", { digests });
      const links = await this.store.linksOf(trx, digests);
      await this.store.deleteBlobRows(trx, digests);
      return { rows, links };
    });
    const sizes = new Map(freed.rows.map((r) => [r.digest, r.size]));
    for (const link of freed.links) {
      const t = tally(link.project);
      t.blobs += 1;
      t.bytes += sizes.get(link.digest) ?? 0;
    }
    for (const r of freed.rows) {
      total.blobs += 1;
      total.bytes += r.size;
    }
    await this.step("swept", { digests: freed.rows.map((r) => r.digest) });
  }

  private async step(step: GcStep, detail: { digests?: string[]; versions?: VersionKey[] }): Promise<void> {
    await this.deps.hook?.(step, detail);
  }
}

function* byProjectBatches(keys: VersionKey[], size: number): Generator<{ project: string; keys: VersionKey[] }> {
  let current: { project: string; keys: VersionKey[] } | undefined;
  for (const key of keys) {
    if (!current || current.project !== key.project || current.keys.length >= size) {
      if (current) yield current;
      current = { project: key.project, keys: [] };
    }
    current.keys.push(key);
  }
  if (current) yield current;
}
