import { sql, type Kysely } from "kysely";
import { assertSetsLive } from "../artifacts/retired.js";
import type { Database } from "../db/schema.js";
import { ConflictError, LockedError, NotFoundError } from "../core/errors.js";
import type { Actor } from "../core/actor.js";
import { enqueueEvent } from "../webhooks/outbox.js";
import { presentEnvironment, type EnvironmentView } from "./present.js";

import { ENVIRONMENT_CHANNEL } from "./channel.js";

export { ENVIRONMENT_CHANNEL } from "./channel.js";

/** Postgres refuses NOTIFY payloads of 8000 bytes or more; a margin keeps clear of it. */
const NOTIFY_PAYLOAD_LIMIT = 7900;

/**
 * The notification: the AppliedChange, plus `state` (the environment JSON after the change)
 * when known and when it fits; without it a listener reads the environment itself.
 */
export function notificationPayload(applied: AppliedChange, state: EnvironmentView | undefined): string {
  const plain = JSON.stringify(applied);
  if (state === undefined) return plain;
  const full = JSON.stringify({ ...applied, state });
  return Buffer.byteLength(full) < NOTIFY_PAYLOAD_LIMIT ? full : plain;
}

/** The environment as locked by the change, before it is applied. */
export interface LockedEnvironment {
  active: string | null;
  revision: number;
  frozen: boolean;
  protected: boolean;
}

export interface EnvironmentChange {
  project: string;
  environment: string;
  /** deploy | rollback | rollout_start | advance | pause | resume | abort | promote | freeze | unfreeze | … */
  action: string;
  /**
   * The new active set; `undefined` keeps the current one (e.g. a rollout step). A function
   * chooses it from the locked row after the frozen and revision checks passed (a rollback's
   * target depends on the state it replaces); it runs in the same transaction and may throw.
   */
  active?: string | null | ((current: LockedEnvironment) => Promise<string | null>);
  /**
   * Who may make this change, judged on the locked row before anything else (so a concurrent
   * `protected: true` cannot slip between check and write): deploy and rollback pass
   * `requireDeployAccess` here. Throws to refuse.
   */
  authorize?: (current: LockedEnvironment) => void;
  /** Compare-and-swap: the change applies only when the environment is at this revision (undefined: any). */
  expectedRevision?: number;
  /** Refuse the change with 423 while the environment is frozen. */
  refuseWhenFrozen?: boolean;
  frozen?: boolean;
  /**
   * The environment's `rollout` field once this change commits, when the caller knows it
   * (deploy and rollback: null, since they are refused while a rollout runs or is paused). The
   * notification then carries the whole environment JSON (`state`), so the other instances'
   * watchers get the change without reading it back.
   */
  rolloutAfter?: object | null;
  reason?: string | null;
  /** The history entry's detail; a function is called after `active` chose the set (a deploy's acknowledged incident). */
  detail?: unknown;
  /**
   * Sets this change makes reachable besides the new active one (a rollout's candidate): like
   * the new active set, they must not pin a version retired by garbage collection (410).
   */
  pins?: string[];
}

export interface AppliedChange {
  project: string;
  environment: string;
  revision: number;
  active: string | null;
  previous: string | null;
  action: string;
}

/**
 * The one way an environment changes. Inside the caller's transaction it locks the row
 * (SELECT … FOR UPDATE, so concurrent changes on any instance queue here), checks the
 * expected revision, bumps the revision, writes the history row, sends NOTIFY and enqueues the
 * `environment.changed` webhook deliveries. Pointer, history, notification and webhook outbox
 * therefore commit together or not at all.
 */
export async function applyEnvironmentChange(trx: Kysely<Database>, actor: Actor, change: EnvironmentChange): Promise<AppliedChange> {
  const current = await trx
    .selectFrom("environments")
    .select(["active", "revision", "frozen", "protected"])
    .where("project", "=", change.project)
    .where("name", "=", change.environment)
    .forUpdate()
    .executeTakeFirst();
  if (!current) throw new NotFoundError(`Environment ${change.environment} not found`);
  change.authorize?.(current);
  if (change.refuseWhenFrozen && current.frozen) {
    throw new LockedError(`Environment ${change.environment} is frozen; unfreeze it first`);
  }
  if (change.expectedRevision !== undefined && change.expectedRevision !== current.revision) {
    throw new ConflictError(
      `Environment ${change.environment} is at revision ${current.revision}, not the expected ${change.expectedRevision}`,
    );
  }
  const revision = current.revision + 1;
  const active =
    change.active === undefined ? current.active : typeof change.active === "function" ? await change.active(current) : change.active;
  const detail: unknown = typeof change.detail === "function" ? (change.detail as () => unknown)() : change.detail;
  const reachable = [...(active !== null && active !== current.active ? [active] : []), ...(change.pins ?? [])];
  await assertSetsLive(trx, change.project, reachable);
  const row = await trx
    .updateTable("environments")
    .set({
      active,
      revision,
      updated_at: sql<Date>`clock_timestamp()`,
      ...(change.frozen !== undefined ? { frozen: change.frozen } : {}),
    })
    .where("project", "=", change.project)
    .where("name", "=", change.environment)
    .returningAll()
    .executeTakeFirstOrThrow();
  await trx
    .insertInto("environment_history")
    .values({
      project: change.project,
      environment: change.environment,
      revision,
      action: change.action,
      version_set: active,
      previous: current.active,
      actor: actor.name,
      actor_token_id: actor.tokenId,
      reason: change.reason ?? null,
      trace_id: actor.traceId,
      detail: detail === undefined ? null : JSON.stringify(detail),
      // The very instant the environment row got (microseconds): a watch replay rebuilds the
      // environment's `updated_at` from this entry.
      at: sql<Date>`(select updated_at from environments where project = ${change.project} and name = ${change.environment})`,
    })
    .execute();
  const applied: AppliedChange = {
    project: change.project,
    environment: change.environment,
    revision,
    active,
    previous: current.active,
    action: change.action,
  };
  const state = change.rolloutAfter === undefined ? undefined : presentEnvironment(row, change.rolloutAfter);
  await sql`select pg_notify(${ENVIRONMENT_CHANNEL}, ${notificationPayload(applied, state)})`.execute(trx);
  await enqueueEvent(trx, { project: change.project, event: "environment.changed", data: { ...applied, reason: change.reason ?? null } });
  return applied;
}
