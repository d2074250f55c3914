import type { Kysely } from "kysely";
import { assertSetsLive } from "../artifacts/retired.js";
import type { Actor } from "../core/actor.js";
import type { Database } from "../db/schema.js";
import { asTx } from "../db/transactions.js";
import { enqueueEvent } from "../webhooks/outbox.js";
import { EnvironmentChanger } from "./change.js";
import type { AppliedChange, EnvironmentChange } from "./ports.js";
import { KyselyEnvironmentStore } from "./store.js";

/**
 * TRANSITIONAL, for callers still holding a Kysely transaction (the rollouts domain until it
 * takes `EnvironmentChanges` through its deps): the same change as `EnvironmentChanger.apply`,
 * wired to the SQL stores. Delete once nothing imports it.
 */
export function applyEnvironmentChange(trx: Kysely<Database>, actor: Actor, change: EnvironmentChange): Promise<AppliedChange> {
  return new EnvironmentChanger({
    store: new KyselyEnvironmentStore(trx),
    sets: { assertSetsLive: (_tx, project, sets) => assertSetsLive(trx, project, sets) },
    events: { enqueue: (_tx, input) => enqueueEvent(trx, input) },
  }).apply(asTx(trx), actor, change);
}
