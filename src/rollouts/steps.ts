import { randomBytes } from "node:crypto";
import { requireDeployAccess } from "../auth/environment-guard.js";
import type { Actor } from "../core/actor.js";
import type { EnvironmentKey } from "../core/environment-key.js";
import { ConflictError, LockedError, NotFoundError, UnprocessableError } from "../core/errors.js";
import type { Principal } from "../core/principal.js";
import type { Transactions, Tx } from "../core/transaction.js";
import { evaluate, explain, type EvaluationSources } from "./evaluate.js";
import type { Decision } from "./gates.js";
import type {
  AuditRecorder,
  LockedEnvironmentRecord,
  ProjectDirectory,
  RolloutEnvironmentChanges,
  RolloutEnvironments,
  RolloutEvents,
  RolloutRecord,
  RolloutStore,
  VersionSetLookup,
} from "./ports.js";
import type { RolloutCache } from "./rollout-cache.js";
import { presentRollout, rolloutSnapshot, rolloutTarget, toPercent } from "./view.js";

/** The history actions of rollout steps (API.md). */
export type StepAction = "rollout_start" | "advance" | "promote" | "pause" | "resume" | "abort";

const AUDIT_ACTION: Record<StepAction, string> = {
  rollout_start: "rollout.start",
  advance: "rollout.advance",
  promote: "rollout.promote",
  pause: "rollout.pause",
  resume: "rollout.resume",
  abort: "rollout.abort",
};

export const FULL = 10_000;

/**
 * The incidents domain's hooks (absent in tests that do not wire it). Both run in the step's
 * transaction, the environment row locked.
 */
export interface RolloutIncidentHooks {
  /** Every abort: the incidents domain opens or links one on a red/black decision, else mitigates an open one. */
  onRolloutAborted(
    tx: Tx,
    actor: Actor,
    key: EnvironmentKey,
    info: { rollout: RolloutRecord; decision: Decision | undefined; revision: number; action: "abort" | "freeze"; explanation: string; byDegrade: boolean },
  ): Promise<void>;
  /** 409 incident_open unless acknowledged; the acknowledged incident id, else null. */
  guard(tx: Tx, actor: Actor, key: EnvironmentKey, change: { what: string; target: string | null; acknowledge?: string | undefined }): Promise<string | null>;
}

export interface StepsDeps extends EvaluationSources {
  transactions: Transactions;
  rollouts: RolloutStore;
  environments: RolloutEnvironments;
  changes: RolloutEnvironmentChanges;
  projects: ProjectDirectory;
  audit: AuditRecorder;
  events: RolloutEvents;
  versionSets: VersionSetLookup;
  cache: RolloutCache;
  /** The environments' resolve cache: a promote changes the active set it holds. */
  resolveCache: { invalidate(project: string, env: string): void };
  incidents?: RolloutIncidentHooks | undefined;
}

const label = (key: EnvironmentKey) => `environment ${key.environment} of project ${key.project}`;

/**
 * The 404 for a missing environment, telling a missing project apart (ProjectDirectory.require
 * throws its 404). Called outside any transaction: on PGlite a read beside an open one waits for it.
 */
export async function environmentNotFound(projects: ProjectDirectory, key: EnvironmentKey): Promise<NotFoundError> {
  await projects.require(key.project);
  return new NotFoundError(`Environment ${key.environment} not found in project ${key.project}`);
}

/** Thrown out of a transaction whose environment row was missing, so the 404 is worked out after it ended. */
class MissingEnvironment extends Error {}

export function newRolloutId(): string {
  return `ro_${randomBytes(12).toString("hex")}`;
}

/**
 * The in-transaction primitives every rollout change is made of. Each step is ONE environment
 * revision: applyEnvironmentChange (pointer, history row, NOTIFY, environment.changed), the
 * rollout row, an audit row and a `rollout.changed` webhook event, all in the caller's
 * transaction. `transact` takes the environment row lock first, so steps, observations and
 * deploys of one environment are serialized on every instance.
 */
export class RolloutSteps {
  constructor(private readonly deps: StepsDeps) {}

  async transact<T>(principal: Principal | undefined, key: EnvironmentKey, work: (tx: Tx, env: LockedEnvironmentRecord) => Promise<T>): Promise<T> {
    try {
      return await this.deps.transactions.run(async (tx) => {
        const env = await this.deps.environments.lockEnvironment(tx, key);
        if (!env) throw new MissingEnvironment();
        // Under the row lock: a concurrent `protected: true` cannot slip between check and write.
        if (principal) requireDeployAccess(principal, env);
        return work(tx, env);
      });
    } catch (err) {
      if (err instanceof MissingEnvironment) throw await environmentNotFound(this.deps.projects, key);
      throw err;
    } finally {
      // Also after a failure: a commit whose acknowledgement was lost must not leave a stale entry.
      this.invalidate(key);
    }
  }

  invalidate(key: EnvironmentKey): void {
    this.deps.cache.invalidate(key.project, key.environment);
    this.deps.resolveCache.invalidate(key.project, key.environment);
  }

  /** The live rollout, or 404 (none ever) / 409 (the latest one has ended). */
  async requireLive(tx: Tx, key: EnvironmentKey, verb: string): Promise<RolloutRecord> {
    const live = await this.deps.rollouts.live(key, tx);
    if (live) return live;
    const latest = await this.deps.rollouts.latest(key, tx);
    if (!latest) throw new NotFoundError(`No rollout was ever started on ${label(key)}`);
    throw new ConflictError(`Cannot ${verb}: rollout ${latest.id} on ${label(key)} is already ${latest.state}; start a new one`);
  }

  async start(
    tx: Tx,
    actor: Actor,
    key: EnvironmentKey,
    env: LockedEnvironmentRecord,
    input: { candidate: string; basisPoints: number; allow: string[]; auto: boolean; reason?: string | null; acknowledgeIncident?: string | undefined },
  ): Promise<RolloutRecord> {
    if (env.frozen) throw new LockedError(`The ${label(key)} is frozen after a stop; an admin must unfreeze it before a new rollout`);
    const live = await this.deps.rollouts.live(key, tx);
    if (live) throw new ConflictError(`Rollout ${live.id} is already ${live.state} on ${label(key)}; promote or abort it first`);
    if (env.active === null) throw new ConflictError(`Nothing is active on ${label(key)}: deploy the stable set first, then roll out a candidate`);
    if (!(await this.deps.versionSets.exists(tx, key.project, input.candidate))) {
      throw new UnprocessableError(`Version set ${input.candidate} does not exist in project ${key.project}`, [
        { path: "body.candidate", message: "no such version set in this project" },
      ]);
    }
    if (input.candidate === env.active) {
      throw new UnprocessableError(`The candidate ${input.candidate} is already the active (stable) set of ${label(key)}`, [
        { path: "body.candidate", message: "must differ from the active set" },
      ]);
    }
    const acknowledged = await this.deps.incidents?.guard(tx, actor, key, { what: "rollout start", target: input.candidate, acknowledge: input.acknowledgeIncident });
    const id = newRolloutId();
    const stable = env.active;
    return this.record(tx, actor, key, null, {
      action: "rollout_start",
      rolloutId: id,
      reason: input.reason ?? null,
      detail: {
        candidate: input.candidate,
        stable,
        percent: toPercent(input.basisPoints),
        allow_count: input.allow.length,
        auto: input.auto,
        ...(acknowledged ? { acknowledged_incident: acknowledged } : {}),
      },
      refuseWhenFrozen: true,
      pins: [input.candidate],
      write: (revision) =>
        this.deps.rollouts.insert(tx, key, {
          id,
          stable,
          candidate: input.candidate,
          basisPoints: input.basisPoints,
          allow: input.allow,
          auto: input.auto,
          revision,
          createdBy: actor.name,
        }),
    });
  }

  /** Raises the percent; at 100 % the candidate becomes active (`promote`). The gate was checked by the caller. */
  async advance(
    tx: Tx,
    actor: Actor,
    key: EnvironmentKey,
    live: RolloutRecord,
    input: { basisPoints: number; forced: boolean; decision: Decision; reason?: string | null; detail?: object },
  ): Promise<RolloutRecord> {
    const promote = input.basisPoints >= FULL;
    const detail = {
      from_percent: toPercent(live.basis_points),
      to_percent: toPercent(input.basisPoints),
      forced: input.forced,
      decision: input.decision,
      ...input.detail,
    };
    return this.record(tx, actor, key, live, {
      action: promote ? "promote" : "advance",
      rolloutId: live.id,
      reason: input.reason ?? null,
      detail,
      refuseWhenFrozen: true,
      ...(promote ? { active: live.candidate } : {}),
      write: (revision) =>
        this.deps.rollouts.update(tx, live, { basisPoints: input.basisPoints, revision, ...(promote ? { state: "promoted" as const } : {}) }),
    });
  }

  pause(tx: Tx, actor: Actor, key: EnvironmentKey, live: RolloutRecord, input: { reason?: string | null; detail?: object }): Promise<RolloutRecord> {
    if (live.state !== "running") throw new ConflictError(`Rollout ${live.id} is ${live.state}, not running: nothing to pause`);
    return this.record(tx, actor, key, live, {
      action: "pause",
      rolloutId: live.id,
      reason: input.reason ?? null,
      detail: { percent: toPercent(live.basis_points), ...input.detail },
      write: (revision) => this.deps.rollouts.update(tx, live, { state: "paused", revision }),
    });
  }

  resume(tx: Tx, actor: Actor, key: EnvironmentKey, live: RolloutRecord, input: { reason?: string | null }): Promise<RolloutRecord> {
    if (live.state !== "paused") throw new ConflictError(`Rollout ${live.id} is ${live.state}, not paused: nothing to resume`);
    return this.record(tx, actor, key, live, {
      action: "resume",
      rolloutId: live.id,
      reason: input.reason ?? null,
      detail: { percent: toPercent(live.basis_points) },
      refuseWhenFrozen: true,
      write: (revision) => this.deps.rollouts.update(tx, live, { state: "running", revision, resumed: true }),
    });
  }

  /**
   * Everyone gets the stable set again (it never stopped being the active one). With `freeze`
   * (a `stop` decision) a second revision freezes the environment, in the same transaction.
   */
  async abort(
    tx: Tx,
    actor: Actor,
    key: EnvironmentKey,
    live: RolloutRecord,
    input: { reason?: string | null; detail?: object; freeze?: boolean },
  ): Promise<RolloutRecord> {
    // The decision the abort acted on: the gate's (auto), else the one in force when a person aborted.
    const given = (input.detail as { decision?: Decision } | undefined)?.decision;
    const byDegrade = (input.detail as { degrade?: boolean } | undefined)?.degrade === true;
    const decision = given ?? (this.deps.incidents && !byDegrade ? (await evaluate(this.deps, live, tx)).decision : undefined);
    const aborted = await this.record(tx, actor, key, live, {
      action: "abort",
      rolloutId: live.id,
      reason: input.reason ?? null,
      detail: { percent: toPercent(live.basis_points), state: live.state, ...input.detail },
      write: (revision) => this.deps.rollouts.update(tx, live, { state: "aborted", revision }),
    });
    const incident = { rollout: aborted, decision, explanation: decision ? explain(decision) : "aborted", byDegrade };
    if (!input.freeze) {
      await this.deps.incidents?.onRolloutAborted(tx, actor, key, { ...incident, revision: aborted.revision, action: "abort" });
      return aborted;
    }
    const frozen = await this.deps.changes.apply(tx, actor, {
      project: key.project,
      environment: key.environment,
      action: "freeze",
      frozen: true,
      reason: input.reason ?? null,
      detail: { rollout: live.id, ...input.detail },
    });
    await this.deps.audit.record(tx, actor, {
      project: key.project,
      action: "environment.freeze",
      target: `environment/${key.environment}`,
      before: { frozen: false, revision: frozen.revision - 1 },
      after: { frozen: true, revision: frozen.revision, rollout: live.id, reason: input.reason ?? null },
    });
    await this.deps.incidents?.onRolloutAborted(tx, actor, key, { ...incident, revision: frozen.revision, action: "freeze" });
    return aborted;
  }

  private async record(
    tx: Tx,
    actor: Actor,
    key: EnvironmentKey,
    before: RolloutRecord | null,
    step: {
      action: StepAction;
      rolloutId: string;
      reason: string | null;
      detail: object;
      active?: string;
      refuseWhenFrozen?: boolean;
      /** Sets the step makes reachable besides `active` (the candidate): 410 if one pins a retired version. */
      pins?: string[];
      write: (revision: number) => Promise<RolloutRecord>;
    },
  ): Promise<RolloutRecord> {
    const applied = await this.deps.changes.apply(tx, actor, {
      project: key.project,
      environment: key.environment,
      action: step.action,
      reason: step.reason,
      // `rollout` first: the evidence pack finds a rollout's history entries by it.
      detail: { rollout: step.rolloutId, ...step.detail },
      ...(step.active !== undefined ? { active: step.active } : {}),
      ...(step.refuseWhenFrozen ? { refuseWhenFrozen: true } : {}),
      ...(step.pins ? { pins: step.pins } : {}),
    });
    const row = await step.write(applied.revision);
    await this.deps.audit.record(tx, actor, {
      project: key.project,
      action: AUDIT_ACTION[step.action],
      target: rolloutTarget(row),
      before: before ? rolloutSnapshot(before) : null,
      after: { ...rolloutSnapshot(row), reason: step.reason },
    });
    await this.deps.events.enqueue(tx, {
      project: key.project,
      event: "rollout.changed",
      data: { action: step.action, environment: key.environment, revision: applied.revision, reason: step.reason, rollout: presentRollout(row) },
    });
    return row;
  }
}
