import { z } from "zod";

/** Retention of one project; an absent `retention_settings` row means these. */
export const DEFAULT_RETENTION = Object.freeze({ days: 90, keep_last: 20 });
export type Retention = { days: number; keep_last: number };

/** Blobs uploaded (or uploaded again) within this are never collected: an in-flight publish is never hurt. */
export const DEFAULT_GRACE_MS = 24 * 60 * 60_000;
/** Delivered webhook outbox rows and delivery attempts older than this are pruned by the same job. */
export const DEFAULT_WEBHOOK_RETENTION_DAYS = 30;
/** A 'running' run without a heartbeat for this long belongs to a dead process. */
export const DEFAULT_LEASE_MS = 60_000;

export interface GcOptions {
  graceMs: number;
  webhookRetentionDays: number;
  leaseMs: number;
  /** Rows per claim / sweep transaction. */
  batchSize: number;
}

export const DEFAULT_GC_OPTIONS: Readonly<GcOptions> = Object.freeze({
  graceMs: DEFAULT_GRACE_MS,
  webhookRetentionDays: DEFAULT_WEBHOOK_RETENTION_DAYS,
  leaseMs: DEFAULT_LEASE_MS,
  batchSize: 500,
});

/** Types are checked by zod (400); the ranges by the service (422, as the contract says). */
export const retentionBody = z.strictObject({
  days: z.number().int().optional(),
  keep_last: z.number().int().optional(),
});

export const MAX_RETENTION_DAYS = 36_500;
export const MAX_KEEP_LAST = 100_000;
