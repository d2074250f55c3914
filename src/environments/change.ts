import { ConflictError, LockedError, NotFoundError } from "../core/errors.js";
import type { Actor } from "../core/actor.js";
import type { Tx } from "../core/transaction.js";
import type { AppliedChange, EnvironmentChange, EnvironmentChanges, EnvironmentEventOutbox, EnvironmentStore, LiveSetsGuard } from "./ports.js";
import { presentEnvironment, type EnvironmentView } from "./present.js";

export { ENVIRONMENT_CHANNEL } from "./channel.js";
export type { AppliedChange, EnvironmentChange, LockedEnvironment } from "./ports.js";

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

export interface EnvironmentChangerDeps {
  store: EnvironmentStore;
  sets: LiveSetsGuard;
  events: EnvironmentEventOutbox;
}

/**
 * The one way an environment changes. Inside the caller's transaction it locks the row
 * (SELECT … FOR UPDATE, so concurrent changes on any instance queue here), checks the
 * expected revision, bumps the revision, writes the history row, sends NOTIFY and enqueues the
 * `environment.changed` webhook deliveries. Pointer, history, notification and webhook outbox
 * therefore commit together or not at all.
 */
export class EnvironmentChanger implements EnvironmentChanges {
  constructor(private readonly deps: EnvironmentChangerDeps) {}

  async apply(tx: Tx, actor: Actor, change: EnvironmentChange): Promise<AppliedChange> {
    const { store } = this.deps;
    const key = { project: change.project, environment: change.environment };
    const current = await store.lockEnvironment(tx, key);
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
    if (reachable.length > 0) await this.deps.sets.assertSetsLive(tx, change.project, reachable);
    const row = await store.writeRevision(tx, key, {
      revision,
      active,
      previous: current.active,
      ...(change.frozen !== undefined ? { frozen: change.frozen } : {}),
      action: change.action,
      actor: actor.name,
      actor_token_id: actor.tokenId,
      reason: change.reason ?? null,
      trace_id: actor.traceId,
      detail,
    });
    const applied: AppliedChange = {
      project: change.project,
      environment: change.environment,
      revision,
      active,
      previous: current.active,
      action: change.action,
    };
    const state = change.rolloutAfter === undefined ? undefined : presentEnvironment(row, change.rolloutAfter);
    await store.announce(tx, notificationPayload(applied, state));
    await this.deps.events.enqueue(tx, { project: change.project, event: "environment.changed", data: { ...applied, reason: change.reason ?? null } });
    return applied;
  }
}
