import type { Actor } from "../core/actor.js";
import type { EnvironmentKey } from "../core/environment-key.js";
import { ConflictError, NotFoundError, UnprocessableError } from "../core/errors.js";
import type { Principal } from "../core/principal.js";
import type { Tx } from "../core/transaction.js";
import { isDatabaseUnavailable } from "../db/errors.js";
import type { Logger } from "../logger.js";
import { assignSubject, isValidPercent, type Assignment } from "./assignment.js";
import { evaluate, explain } from "./evaluate.js";
import type { EvidencePackView, EvidenceService, EvidenceTrigger, EvidenceWritten } from "./evidence.js";
import { nextStep } from "./gate-policy.js";
import type { Decision } from "./gates.js";
import type { AuditRecorder, LockedEnvironmentRecord, ProjectDirectory, RolloutEnvironmentChanges, RolloutEnvironments, RolloutRecord, RolloutStores } from "./ports.js";
import type { CachedRollout, RolloutCache } from "./rollout-cache.js";
import { environmentNotFound, FULL, type RolloutSteps } from "./steps.js";
import { presentRollout, toBasisPoints, toPercent, type RolloutStatusView, type RolloutView } from "./view.js";

export interface RolloutServiceDeps {
  stores: RolloutStores;
  environments: RolloutEnvironments;
  changes: RolloutEnvironmentChanges;
  projects: ProjectDirectory;
  audit: AuditRecorder;
  /** The step primitives and evidence writer (built by compose.ts, shared with the gate and the schedule loop). */
  steps: RolloutSteps;
  evidence: EvidenceService;
  cache: RolloutCache;
  logger: Logger;
}

export interface StartInput {
  candidate: string;
  percent: number;
  allow?: string[];
  auto?: boolean;
  reason?: string;
  /** The open incident's id: starting a rollout while one is open needs it (409 incident_open otherwise). */
  acknowledge_incident?: string;
}

export interface AdvanceInput {
  percent?: number;
  force?: boolean;
  reason?: string;
}

/** (0, 100] in steps of 0.01 → basis points, else 422 on `path`. */
export function percentToBasisPoints(percent: number, path: string): number {
  // Judged after rounding: 1e-9 is "a multiple of 0.01" within the float slack yet rounds to
  // 0 basis points, which the rollouts table's check constraint refused with a 500.
  if (!isValidPercent(percent) || !(toBasisPoints(percent) > 0)) {
    throw new UnprocessableError(`percent ${percent} is not in (0, 100] in steps of 0.01`, [
      { path, message: "must be greater than 0 and at most 100, in steps of 0.01" },
    ]);
  }
  return toBasisPoints(percent);
}

const label = (key: EnvironmentKey) => `environment ${key.environment} of project ${key.project}`;

/**
 * Canary rollouts: the lifecycle (start, advance/promote, pause, resume, abort), sticky
 * assignment for `resolve?subject=`, the decision, evidence packs and unfreeze. Every change
 * runs through RolloutSteps (one transaction, one revision per step); packs are written after
 * the step commits, because the blob store cannot join a database transaction.
 */
export class RolloutService {
  private readonly stores: RolloutStores;
  private readonly cache: RolloutCache;
  private readonly steps: RolloutSteps;
  private readonly evidence: EvidenceService;
  private readonly log: Logger;

  constructor(private readonly deps: RolloutServiceDeps) {
    this.stores = deps.stores;
    this.cache = deps.cache;
    this.steps = deps.steps;
    this.evidence = deps.evidence;
    this.log = deps.logger.child({ module: "rollouts" });
  }

  /** For cross-instance propagation: drop what this instance holds about the environment. */
  invalidate(project: string, environment: string): void {
    this.cache.invalidate(project, environment);
  }

  /**
   * Runs `work` in one transaction holding the environment's row lock, after the deploy-scope
   * check on the locked row (`principal` undefined: the registry's own loops). Every rollout
   * step, observation, gate policy and analysis config change goes through here, so they are
   * serialized per environment on every instance; 404 for a missing project or environment.
   */
  withEnvironmentLocked<T>(principal: Principal | undefined, key: EnvironmentKey, work: (tx: Tx, env: LockedEnvironmentRecord) => Promise<T>): Promise<T> {
    return this.steps.transact(principal, key, work);
  }

  /** 404 (project, then environment) unless the environment exists. */
  async requireEnvironment(key: EnvironmentKey): Promise<void> {
    if (!(await this.deps.environments.environmentExists(key))) throw await environmentNotFound(this.deps.projects, key);
  }

  // ------------------------------------------------------------------ reads

  /** The running or paused rollout, else the most recent one, with where its step stands; 404 when none was ever started. */
  async get(key: EnvironmentKey): Promise<RolloutStatusView> {
    const row = await this.requireLatest(key);
    const view = await this.present(row);
    const status = { step_started_at: row.step_started_at.toISOString() };
    if (row.state !== "running" && row.state !== "paused") {
      return { ...view, ...status, step: null, bake_remaining_seconds: null, next_action: null, next_action_reason: null };
    }
    const { analysis, schedule } = await evaluate(this.sources, row);
    const step = { ...analysis.step, samples: analysis.samples };
    if (row.state === "paused") {
      return { ...view, ...status, step, bake_remaining_seconds: schedule.bake_remaining_seconds, next_action: "resume", next_action_reason: "paused: the schedule waits until a person resumes the rollout" };
    }
    const who = row.auto ? "" : "advice (auto is off, a person acts): ";
    return { ...view, ...status, step, bake_remaining_seconds: schedule.bake_remaining_seconds, next_action: schedule.next_action, next_action_reason: `${who}${schedule.reason}` };
  }

  /** The `rollout` field of the environment JSON: the running or paused one, else null. */
  async rolloutOf(project: string, environment: string): Promise<RolloutView | null> {
    const live = await this.stores.rollouts.live({ project, environment });
    return live ? this.present(live) : null;
  }

  /**
   * The set `subject` gets now (undefined: no rollout, the caller serves the active set). Served
   * from the rollout cache: no database query once the environment's rollout is cached. While
   * the database is unavailable the last known rollout keeps assigning (subjects keep their side).
   */
  async assign(project: string, environment: string, subject: string): Promise<{ versionSet: string; assignment: Assignment } | undefined> {
    let live: CachedRollout | null;
    try {
      live = await this.cache.get(project, environment, () => this.loadLive(project, environment));
    } catch (err) {
      const last = isDatabaseUnavailable(err) ? this.cache.lastKnown(project, environment) : undefined;
      if (last === undefined) throw err;
      live = last;
    }
    return live ? this.sideOf(live, subject) : undefined;
  }

  private sideOf(live: CachedRollout, subject: string): { versionSet: string; assignment: Assignment } {
    const assignment = assignSubject({ rolloutId: live.id, subject, percent: live.percent, allow: live.allow });
    return { versionSet: assignment === "candidate" ? live.candidate : live.stable, assignment };
  }

  /** `assign` from the rollout cache alone: null when it trusts there is no rollout, undefined when it must read. */
  peekAssign(project: string, environment: string, subject: string): { versionSet: string; assignment: Assignment } | null | undefined {
    const live = this.cache.peek(project, environment);
    return live && this.sideOf(live, subject);
  }

  async decision(key: EnvironmentKey): Promise<Decision> {
    return (await evaluate(this.sources, await this.requireLatest(key))).decision;
  }

  /** Hook for deploy and rollback, called in their transaction after the environment row is locked. */
  async assertSwitchAllowed(tx: Tx, key: EnvironmentKey, action: string): Promise<void> {
    const live = await this.stores.rollouts.live(key, tx);
    if (live) {
      throw new ConflictError(
        `Cannot ${action} ${label(key)} while rollout ${live.id} is ${live.state} (candidate ${live.candidate} at ${toPercent(live.basis_points)} %): ` +
          "abort the rollout (POST …/rollout/abort) or promote it (POST …/rollout/advance to 100) first",
      );
    }
  }

  // ------------------------------------------------------------------ changes

  async start(actor: Actor, principal: Principal, key: EnvironmentKey, input: StartInput): Promise<RolloutView> {
    const basisPoints = percentToBasisPoints(input.percent, "body.percent");
    const allow = [...new Set(input.allow ?? [])];
    const row = await this.steps.transact(principal, key, (tx, env) =>
      this.steps.start(tx, actor, key, env, { candidate: input.candidate, basisPoints, allow, auto: input.auto ?? false, reason: input.reason ?? null, acknowledgeIncident: input.acknowledge_incident }),
    );
    return this.present(row);
  }

  /**
   * Raises the percent to `percent` or the policy's next step. The gate is evaluated inside the
   * transaction (observations of this environment wait for it), and must say `advance` unless
   * `force` is given; a forced advance records the decision it overrode in the history entry.
   */
  async advance(actor: Actor, principal: Principal, key: EnvironmentKey, input: AdvanceInput): Promise<RolloutView> {
    const requested = input.percent === undefined ? undefined : percentToBasisPoints(input.percent, "body.percent");
    const row = await this.steps.transact(principal, key, async (tx) => {
      const live = await this.steps.requireLive(tx, key, "advance");
      if (live.state !== "running") throw new ConflictError(`Rollout ${live.id} is ${live.state}: resume it before advancing`);
      const evaluation = await evaluate(this.sources, live, tx);
      let target = requested;
      if (target === undefined) {
        const next = nextStep(evaluation.policy, toPercent(live.basis_points));
        target = next === undefined ? FULL : toBasisPoints(next);
      } else if (target <= live.basis_points) {
        throw new UnprocessableError(`percent ${toPercent(target)} does not raise the current ${toPercent(live.basis_points)} %`, [
          { path: "body.percent", message: `must be greater than the current percent (${toPercent(live.basis_points)})` },
        ]);
      }
      const forced = input.force === true;
      if (evaluation.decision.action !== "advance" && !forced) {
        throw new ConflictError(
          `Advance refused: ${explain(evaluation.decision)}. Record observations that pass (GET …/rollout/decision), or send "force": true with a reason`,
          "gate_blocked",
        );
      }
      return this.steps.advance(tx, actor, key, live, { basisPoints: target, forced, decision: evaluation.decision, reason: input.reason ?? null });
    });
    if (row.state === "promoted") await this.writeAfterEnd(actor, row, "promoted");
    return this.present(row);
  }

  async pause(actor: Actor, principal: Principal, key: EnvironmentKey, input: { reason?: string }): Promise<RolloutView> {
    const row = await this.steps.transact(principal, key, async (tx) =>
      this.steps.pause(tx, actor, key, await this.steps.requireLive(tx, key, "pause"), { reason: input.reason ?? null }),
    );
    return this.present(row);
  }

  async resume(actor: Actor, principal: Principal, key: EnvironmentKey, input: { reason?: string }): Promise<RolloutView> {
    const row = await this.steps.transact(principal, key, async (tx) =>
      this.steps.resume(tx, actor, key, await this.steps.requireLive(tx, key, "resume"), { reason: input.reason ?? null }),
    );
    return this.present(row);
  }

  async abort(actor: Actor, principal: Principal, key: EnvironmentKey, input: { reason?: string }): Promise<RolloutView> {
    const row = await this.steps.transact(principal, key, async (tx) =>
      this.steps.abort(tx, actor, key, await this.steps.requireLive(tx, key, "abort"), { reason: input.reason ?? null }),
    );
    await this.writeAfterEnd(actor, row, "aborted");
    return this.present(row);
  }

  /**
   * For degrade (EnvironmentHooks.abortLive): aborts the running or paused rollout inside the
   * degrade's transaction, the environment row already locked; the evidence pack is written by
   * `after`, once the transaction committed. Undefined when no rollout is live.
   */
  readonly abortLive = async (tx: Tx, actor: Actor, key: EnvironmentKey, reason: string | null) => {
    const live = await this.stores.rollouts.live(key, tx);
    if (!live) return undefined;
    const row = await this.steps.abort(tx, actor, key, live, { reason, detail: { degrade: true } });
    return {
      id: row.id,
      after: async () => {
        this.steps.invalidate(key);
        await this.writeAfterEnd(actor, row, "aborted");
      },
    };
  };

  /**
   * Pauses rollout `rolloutId` if it is still the running one (the analysis loop after too many
   * failed measurements): true when it paused it, false when it had moved on.
   */
  async pauseIfRunning(actor: Actor, key: EnvironmentKey, rolloutId: string, input: { reason: string; detail: object }): Promise<boolean> {
    return this.steps.transact(undefined, key, async (tx) => {
      const live = await this.stores.rollouts.live(key, tx);
      if (!live || live.id !== rolloutId || live.state !== "running") return false;
      await this.steps.pause(tx, actor, key, live, input);
      return true;
    });
  }

  /** Running rollouts (not paused) in every project, oldest first: the analysis loop's work list. */
  running(): Promise<RolloutRecord[]> {
    return this.stores.rollouts.running();
  }

  /** Per environment the live rollout or the one that ended after `endedAfter` (the /metrics gauges). */
  recentPerEnvironment(endedAfter: Date, limit: number): Promise<RolloutRecord[]> {
    return this.stores.rollouts.recentPerEnvironment(endedAfter, limit);
  }

  /** On demand, for the current or most recent rollout; each call writes a new, separate pack. */
  async writeEvidence(actor: Actor, key: EnvironmentKey): Promise<EvidenceWritten> {
    return this.evidence.write(actor, await this.requireLatest(key), "manual");
  }

  /** The pack with every file inline, each verified against the manifest; 404 for another project's or an environment the caller cannot see. */
  async evidencePack(project: string, id: string, visible: (environment: string) => boolean): Promise<EvidencePackView> {
    return this.evidence.get(project, id, visible);
  }

  /**
   * Freezes the environment by hand (on-call stopping all change): deploys, rollbacks and new
   * rollouts answer 423 until an admin unfreezes; degrade still works. A revision (history
   * `freeze`) and an audit entry; already frozen is a no-op. 409 while a rollout is live: its
   * share would be stuck mid-way — abort it (or let it finish) first.
   */
  async freeze(actor: Actor, principal: Principal, key: EnvironmentKey, input: { reason?: string }): Promise<void> {
    await this.steps.transact(principal, key, async (tx, env) => {
      if (env.frozen) return;
      const live = await this.stores.rollouts.live(key, tx);
      if (live) {
        throw new ConflictError(`Rollout ${live.id} is ${live.state} on ${key.environment}: abort it (or let it finish) before freezing the environment`);
      }
      await this.setFrozen(tx, actor, key, true, input.reason);
    });
  }

  /**
   * Lifts the freeze a `stop` left: a revision (`unfreeze`) with its history entry and an audit
   * row. An environment that is not frozen is left alone (no revision).
   */
  async unfreeze(actor: Actor, key: EnvironmentKey, input: { reason?: string }): Promise<void> {
    await this.steps.transact(undefined, key, async (tx, env) => {
      if (env.frozen) await this.setFrozen(tx, actor, key, false, input.reason);
    });
  }

  /** One revision (history `freeze` / `unfreeze`, with the reason) and its audit entry. */
  private async setFrozen(tx: Tx, actor: Actor, key: EnvironmentKey, frozen: boolean, reason: string | undefined): Promise<void> {
    const action = frozen ? "freeze" : "unfreeze";
    const applied = await this.deps.changes.apply(tx, actor, { project: key.project, environment: key.environment, action, frozen, reason: reason ?? null });
    await this.deps.audit.record(tx, actor, {
      project: key.project,
      action: `environment.${action}`,
      target: `environment/${key.environment}`,
      before: { frozen: !frozen, revision: applied.revision - 1 },
      after: { frozen, revision: applied.revision, reason: reason ?? null },
    });
  }

  /** Packs for ended rollouts; a failure leaves the step committed and is logged (POST …/rollout/evidence retries). */
  async writeAfterEnd(actor: Actor, row: RolloutRecord, trigger: EvidenceTrigger): Promise<void> {
    try {
      await this.evidence.write(actor, row, trigger);
    } catch (err) {
      this.log.error({ err, rollout: row.id, trace_id: actor.traceId }, "evidence pack not written; POST …/rollout/evidence writes one");
    }
  }

  async present(row: RolloutRecord): Promise<RolloutView> {
    return presentRollout(row, (await this.stores.evidence.ofRollout(row.project, row.id)).map((e) => e.id));
  }

  private get sources() {
    return { policies: this.stores.policies, observations: this.stores.observations, environments: this.deps.environments };
  }

  private async requireLatest(key: EnvironmentKey): Promise<RolloutRecord> {
    const row = await this.stores.rollouts.latest(key);
    if (row) return row;
    await this.requireEnvironment(key);
    throw new NotFoundError(`No rollout was ever started on ${label(key)}`);
  }

  private async loadLive(project: string, environment: string): Promise<CachedRollout | null> {
    const live = await this.stores.rollouts.live({ project, environment });
    if (!live) return null;
    return { id: live.id, stable: live.stable, candidate: live.candidate, percent: toPercent(live.basis_points), allow: new Set(live.allow) };
  }
}
