/**
 * Degrade: "degrade first if you can, roll back if all else fails". An environment may name a
 * fallback version set (a smaller model, a canned answer, the feature off); `degrade` switches
 * the active set to it in one compare-and-swap step (history action `degrade`), under the same
 * row lock as every other change. Unlike deploy and rollback it works on a frozen environment
 * and while a rollout runs: the rollout is aborted first, in the same transaction.
 */
import type { Kysely } from "kysely";
import { recordAudit } from "../audit/store.js";
import { requireDeployAccess } from "../auth/environment-guard.js";
import type { Principal } from "../core/principal.js";
import type { Database } from "../db/schema.js";
import { ConflictError, NotFoundError, UnprocessableError } from "../core/errors.js";
import type { Actor } from "../core/actor.js";
import type { AppliedChange } from "./change.js";
import { applyEnvironmentChange } from "./legacy-change.js";
import type { EnvironmentKey } from "../core/environment-key.js";

/** Aborts the running or paused rollout inside the caller's transaction (RolloutService); `after` runs once it committed. */
export type AbortLive = (trx: Kysely<Database>, actor: Actor, key: EnvironmentKey, reason: string | null) => Promise<{ id: string; after: () => Promise<void> } | undefined>;

/** Called in the degrade's transaction once the switch is applied (the incidents domain opens or links one). */
export type OnDegraded = (trx: Kysely<Database>, actor: Actor, key: EnvironmentKey, change: { applied: AppliedChange; rollout: string | null; reason: string | null }) => Promise<{ incident: string } | void>;

export interface DegradeResult {
  active: string | null;
  revision: number;
  previous: string | null;
  changed: true;
  /** The rollout the degrade aborted, else null. */
  aborted_rollout: string | null;
  /** The incident opened (or linked) for this degrade, when the incidents domain is wired. */
  incident: string | null;
}

const label = (key: EnvironmentKey) => `Environment ${key.environment} of project ${key.project}`;

/** `fallback` null lifts it; a named set must exist in the project (422 on body.fallback). Audited as environment.update. */
export async function setFallback(
  trx: Kysely<Database>,
  actor: Actor,
  key: EnvironmentKey,
  input: { fallback: string | null; principal: Principal },
): Promise<void> {
  const env = await trx
    .selectFrom("environments")
    .select(["name", "protected", "fallback"])
    .where("project", "=", key.project)
    .where("name", "=", key.environment)
    .forUpdate()
    .executeTakeFirstOrThrow();
  requireDeployAccess(input.principal, env);
  if (input.fallback !== null) {
    const set = await trx.selectFrom("version_sets").select("id").where("project", "=", key.project).where("id", "=", input.fallback).executeTakeFirst();
    if (!set) {
      throw new UnprocessableError(`Version set ${input.fallback} does not exist in project ${key.project}`, [
        { path: "body.fallback", message: "no such version set in this project" },
      ]);
    }
  }
  if (env.fallback === input.fallback) return;
  await trx.updateTable("environments").set({ fallback: input.fallback }).where("project", "=", key.project).where("name", "=", key.environment).execute();
  await recordAudit(trx, actor, {
    project: key.project,
    action: "environment.update",
    target: `environment/${key.environment}`,
    before: { fallback: env.fallback },
    after: { fallback: input.fallback },
  });
}

export async function degrade(
  db: Kysely<Database>,
  actor: Actor,
  key: EnvironmentKey,
  input: { reason: string | null; principal: Principal; abortLive?: AbortLive | undefined; onDegraded?: OnDegraded | undefined },
): Promise<{ result: DegradeResult; after?: () => Promise<void> }> {
  return db.transaction().execute(async (trx) => {
    // Lock and judge first: a refused degrade must not have aborted the rollout.
    const env = await trx
      .selectFrom("environments")
      .select(["name", "protected", "fallback"])
      .where("project", "=", key.project)
      .where("name", "=", key.environment)
      .forUpdate()
      .executeTakeFirst();
    if (!env) throw new NotFoundError(`${label(key)} not found`);
    requireDeployAccess(input.principal, env);
    const fallback = env.fallback;
    if (fallback === null) {
      throw new ConflictError(`${label(key)} has no fallback version set to degrade to: name one with PUT …/environments/${key.environment} {"fallback": "vs_…"}`);
    }
    const aborted = await input.abortLive?.(trx, actor, key, input.reason ?? `degrade to ${fallback}`);
    const applied = await applyEnvironmentChange(trx, actor, {
      project: key.project,
      environment: key.environment,
      action: "degrade",
      active: fallback,
      rolloutAfter: null,
      reason: input.reason,
      detail: { fallback, ...(aborted ? { rollout: aborted.id } : {}) },
    });
    await recordAudit(trx, actor, {
      project: key.project,
      action: "environment.degrade",
      target: `environment/${key.environment}`,
      before: { active: applied.previous, revision: applied.revision - 1 },
      after: { active: applied.active, revision: applied.revision, reason: input.reason, aborted_rollout: aborted?.id ?? null },
    });
    const linked = await input.onDegraded?.(trx, actor, key, { applied, rollout: aborted?.id ?? null, reason: input.reason });
    return {
      result: {
        active: applied.active,
        revision: applied.revision,
        previous: applied.previous,
        changed: true as const,
        aborted_rollout: aborted?.id ?? null,
        incident: linked ? linked.incident : null,
      },
      ...(aborted ? { after: aborted.after } : {}),
    };
  });
}
