/**
 * Degrade: "degrade first if you can, roll back if all else fails". An environment may name a
 * fallback version set (a smaller model, a canned answer, the feature off); `degrade` switches
 * the active set to it in one compare-and-swap step (history action `degrade`), under the same
 * row lock as every other change. Unlike deploy and rollback it works on a frozen environment
 * and while a rollout runs: the rollout is aborted first, in the same transaction.
 */
import { requireDeployAccess } from "../auth/environment-guard.js";
import type { Actor } from "../core/actor.js";
import type { EnvironmentKey } from "../core/environment-key.js";
import { ConflictError, NotFoundError, UnprocessableError } from "../core/errors.js";
import type { Principal } from "../core/principal.js";
import type { Tx } from "../core/transaction.js";
import type {
  EnvironmentAudit,
  EnvironmentChanges,
  EnvironmentIncidentHooks,
  EnvironmentStore,
  RolloutHooks,
  VersionSetExistence,
} from "./ports.js";

/** What naming a fallback and degrading to it need. */
export interface DegradeDeps {
  store: Pick<EnvironmentStore, "lockEnvironment" | "setFallback">;
  changes: EnvironmentChanges;
  audit: EnvironmentAudit;
  versionSets: VersionSetExistence;
}

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
  deps: DegradeDeps,
  tx: Tx,
  actor: Actor,
  key: EnvironmentKey,
  input: { fallback: string | null; principal: Principal },
): Promise<void> {
  const env = await deps.store.lockEnvironment(tx, key);
  if (!env) throw new NotFoundError(`${label(key)} not found`);
  requireDeployAccess(input.principal, env);
  if (input.fallback !== null && !(await deps.versionSets.versionSetExists(tx, key.project, input.fallback))) {
    throw new UnprocessableError(`Version set ${input.fallback} does not exist in project ${key.project}`, [
      { path: "body.fallback", message: "no such version set in this project" },
    ]);
  }
  if (env.fallback === input.fallback) return;
  await deps.store.setFallback(tx, key, input.fallback);
  await deps.audit.record(tx, actor, {
    project: key.project,
    action: "environment.update",
    target: `environment/${key.environment}`,
    before: { fallback: env.fallback },
    after: { fallback: input.fallback },
  });
}

/** The degrade itself, in the caller's transaction; `after` (the aborted rollout's follow-up) runs once it committed. */
export async function degrade(
  deps: DegradeDeps,
  tx: Tx,
  actor: Actor,
  key: EnvironmentKey,
  input: {
    reason: string | null;
    principal: Principal;
    abortLive?: RolloutHooks["abortLive"] | undefined;
    onDegraded?: EnvironmentIncidentHooks["onDegraded"] | undefined;
  },
): Promise<{ result: DegradeResult; after?: () => Promise<void> }> {
  // Lock and judge first: a refused degrade must not have aborted the rollout.
  const env = await deps.store.lockEnvironment(tx, key);
  if (!env) throw new NotFoundError(`${label(key)} not found`);
  requireDeployAccess(input.principal, env);
  const fallback = env.fallback;
  if (fallback === null) {
    throw new ConflictError(`${label(key)} has no fallback version set to degrade to: name one with PUT …/environments/${key.environment} {"fallback": "vs_…"}`);
  }
  const aborted = await input.abortLive?.(tx, actor, key, input.reason ?? `degrade to ${fallback}`);
  const applied = await deps.changes.apply(tx, actor, {
    project: key.project,
    environment: key.environment,
    action: "degrade",
    active: fallback,
    rolloutAfter: null,
    reason: input.reason,
    detail: { fallback, ...(aborted ? { rollout: aborted.id } : {}) },
  });
  await deps.audit.record(tx, actor, {
    project: key.project,
    action: "environment.degrade",
    target: `environment/${key.environment}`,
    before: { active: applied.previous, revision: applied.revision - 1 },
    after: { active: applied.active, revision: applied.revision, reason: input.reason, aborted_rollout: aborted?.id ?? null },
  });
  const linked = await input.onDegraded?.(tx, actor, key, { applied, rollout: aborted?.id ?? null, reason: input.reason });
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
}
