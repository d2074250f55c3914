import { requireDeployAccess } from "../auth/environment-guard.js";
import type { Actor } from "../core/actor.js";
import type { EnvironmentKey } from "../core/environment-key.js";
import { ConflictError, NotFoundError, UnprocessableError } from "../core/errors.js";
import { decodeCursor, toPage, type Page } from "../core/page.js";
import type { Principal } from "../core/principal.js";
import type { Transactions, Tx } from "../core/transaction.js";
import { degrade, setFallback, type DegradeDeps, type DegradeResult } from "./degrade.js";
import { statesAfter, type PastState } from "./past-states.js";
import type {
  AppliedChange,
  EnvironmentAudit,
  EnvironmentChanges,
  EnvironmentIncidentHooks,
  EnvironmentRecord as EnvironmentRow,
  EnvironmentStore,
  HistoryPageEntry,
  PastRolloutReader,
  ProjectDirectory,
  RolloutHooks,
  VersionSetExistence,
  VersionSetReader,
} from "./ports.js";
import { presentHistory } from "./history-entry.js";
import { presentEnvironment, type EnvironmentView } from "./present.js";
import { ResolveCache } from "./resolve-cache.js";
import { EnvironmentResolver, type ResolveAnswer, type ResolveOptions } from "./resolver.js";
import { findRollbackTarget } from "./rollback-target.js";

export { presentHistory };
export type { EnvironmentIncidentHooks, RolloutHooks, VersionSetReader } from "./ports.js";
export type { EnvironmentView } from "./present.js";

/** What clients see of a history entry (openapi: HistoryEntry). */
export type HistoryEntryView = HistoryPageEntry;

export type { ResolveAnswer, ResolveOptions } from "./resolver.js";

export interface SwitchOptions {
  principal: Principal;
  /** A deploy while an incident is open names it (409 incident_open otherwise); recorded in history and audit. */
  acknowledgeIncident?: string | undefined;
  /** Compare-and-swap on the environment's revision. */
  expectedRevision?: number;
  reason?: string;
}

export interface SwitchResult {
  active: string | null;
  revision: number;
  previous: string | null;
  /** False for a deploy of the set that was already active: nothing was written. */
  changed: boolean;
}

/**
 * Thrown inside the switch's transaction when a deploy names the set already active, after the
 * row lock and every check: the transaction rolls back with nothing written (no revision, no
 * history, no audit row, no notification, no webhook) and the caller answers `changed: false`.
 */
class UnchangedDeploy extends Error {
  constructor(readonly current: { active: string | null; revision: number }) {
    super("the set is already active");
  }
}


const label = (key: EnvironmentKey) => `Environment ${key.environment} of project ${key.project}`;

export interface EnvironmentServiceDeps {
  store: EnvironmentStore;
  /** The one way an environment changes (change.ts EnvironmentChanger), shared with the rollouts domain. */
  changes: EnvironmentChanges;
  transactions: Transactions;
  audit: EnvironmentAudit;
  projects: ProjectDirectory;
  versionSets: VersionSetReader & VersionSetExistence;
  /** For watch replays: the fixed fields of the rollouts a replayed revision names. */
  pastRollouts: PastRolloutReader;
  /** Shared with the rollouts engine and the change feed, which invalidate it too. */
  resolveCache?: ResolveCache;
  rollouts?: RolloutHooks;
  /** See resolver.ts: how long resolve waits for the database when it holds a last bundle. */
  staleAfterMs?: number;
}

export class EnvironmentService {
  private readonly store: EnvironmentStore;
  private readonly resolveCache: ResolveCache;
  private readonly resolver: EnvironmentResolver;
  private readonly degradeDeps: DegradeDeps;

  constructor(private readonly deps: EnvironmentServiceDeps) {
    this.store = deps.store;
    this.resolveCache = deps.resolveCache ?? new ResolveCache();
    this.degradeDeps = { store: deps.store, changes: deps.changes, audit: deps.audit, versionSets: deps.versionSets };
    this.resolver = new EnvironmentResolver({
      store: this.store,
      cache: this.resolveCache,
      versionSets: deps.versionSets,
      ...(deps.rollouts ? { rollouts: deps.rollouts } : {}),
      ...(deps.staleAfterMs !== undefined ? { staleAfterMs: deps.staleAfterMs } : {}),
      notFound: (key) => this.notFound(key),
    });
  }

  /** Set by the incidents domain at composition (see IncidentService guard, onRolledBack and onDegraded). */
  incidents: EnvironmentIncidentHooks | undefined;

  /**
   * Idempotent create. On an existing environment a given `protected` is applied (and audited
   * as environment.update when it changes the flag); the pointer and revision are untouched:
   * protection is configuration, not a change of what the environment serves. Setting or
   * lifting protection takes the rights a protected environment asks for (checked after the
   * write, inside the transaction, which a refusal rolls back).
   */
  async ensure(actor: Actor, key: EnvironmentKey, input: { protected?: boolean; fallback?: string | null; principal: Principal }): Promise<{ created: boolean; environment: EnvironmentView }> {
    await this.deps.projects.require(key.project);
    const guardProtection = () => requireDeployAccess(input.principal, { name: key.environment, protected: true });
    const row = await this.deps.transactions.run(async (tx) => {
      const result = await this.ensureRow(tx, actor, key, input, guardProtection);
      if (input.fallback === undefined) return result;
      await setFallback(this.degradeDeps, tx, actor, key, { fallback: input.fallback, principal: input.principal });
      return { created: result.created, row: (await this.store.find(key, tx))! };
    });
    return { created: row.created, environment: await this.present(row.row) };
  }

  /**
   * Switches the active set to the environment's fallback (409 when none is named), aborting a
   * running rollout first; works on a frozen environment. See degrade.ts.
   */
  async degrade(actor: Actor, key: EnvironmentKey, input: { reason?: string; principal: Principal }): Promise<DegradeResult> {
    await this.require(key);
    try {
      const { result, after } = await this.deps.transactions.run((tx) =>
        degrade(this.degradeDeps, tx, actor, key, {
          reason: input.reason ?? null,
          principal: input.principal,
          abortLive: this.deps.rollouts?.abortLive?.bind(this.deps.rollouts),
          onDegraded: this.incidents?.onDegraded.bind(this.incidents),
        }),
      );
      await after?.();
      return result;
    } finally {
      this.resolveCache.invalidate(key.project, key.environment);
    }
  }

  private async ensureRow(
    tx: Tx,
    actor: Actor,
    key: EnvironmentKey,
    input: { protected?: boolean },
    guardProtection: () => void,
  ): Promise<{ created: boolean; row: EnvironmentRow }> {
    const inserted = await this.store.insertIfAbsent(tx, key, input.protected ?? false);
    if (inserted) {
      if (inserted.protected) guardProtection();
      await this.deps.audit.record(tx, actor, {
        project: key.project,
        action: "environment.create",
        target: `environment/${key.environment}`,
        after: { protected: inserted.protected },
      });
      return { created: true, row: inserted };
    }
    if (input.protected !== undefined) {
      const updated = await this.store.setProtected(tx, key, input.protected);
      if (updated) {
        guardProtection();
        await this.deps.audit.record(tx, actor, {
          project: key.project,
          action: "environment.update",
          target: `environment/${key.environment}`,
          before: { protected: !updated.protected },
          after: { protected: updated.protected },
        });
        return { created: false, row: updated };
      }
    }
    return { created: false, row: (await this.store.find(key, tx))! };
  }
  async get(key: EnvironmentKey): Promise<EnvironmentView> {
    return this.present(await this.require(key));
  }

  /**
   * For watch (WatchSource): the environment JSON now, on the path from a commit to every
   * watcher, so the row and the rollout are read at once rather than one after the other. A
   * rollout newer than the row (a step committed between the two reads) is read again.
   */
  async current(key: EnvironmentKey): Promise<EnvironmentView> {
    for (let attempt = 0; ; attempt++) {
      const [row, rollout] = await Promise.all([this.require(key), this.deps.rollouts?.rolloutOf(key.project, key.environment) ?? null]);
      const rolloutRevision = (rollout as { revision?: unknown } | null)?.revision;
      if (attempt < 2 && typeof rolloutRevision === "number" && rolloutRevision > row.revision) continue;
      return presentEnvironment(row, rollout);
    }
  }

  /** For watch replays (WatchSource): the environment JSON as of each revision after `after`. */
  async statesAfter(key: EnvironmentKey, after: number, limit: number): Promise<PastState[]> {
    return statesAfter({ store: this.store, rollouts: this.deps.pastRollouts }, await this.require(key), after, limit);
  }

  /** The project's environments the caller may see: all for admin or a token naming none, else those it names. */
  async list(principal: Principal, project: string, page: { limit: number; cursor?: string }): Promise<Page<EnvironmentView>> {
    await this.deps.projects.require(project);
    const visible = principal.scopes.has("admin") || !principal.environments ? "*" : [...principal.environments];
    const rows = await this.store.list(project, { names: visible, before: decodeCursor(page.cursor), limit: page.limit + 1 });
    const { items, next_cursor } = toPage(rows, page.limit, (r) => r.seq, (r) => r);
    return { items: await Promise.all(items.map((row) => this.present(row))), next_cursor };
  }

  async deploy(actor: Actor, key: EnvironmentKey, input: { versionSet: string } & SwitchOptions): Promise<SwitchResult> {
    await this.requireWithSet(key, { id: input.versionSet, path: "body.version_set" });
    return this.switch(actor, key, "deploy", input.versionSet, input);
  }

  /** See rollback-target.ts for which set a rollback without `to` picks. */
  async rollback(actor: Actor, key: EnvironmentKey, input: { to?: string } & SwitchOptions): Promise<SwitchResult> {
    await this.requireWithSet(key, input.to !== undefined ? { id: input.to, path: "body.to" } : undefined);
    const to = input.to;
    return this.switch(actor, key, "rollback", async (tx, current) => {
      if (to !== undefined) return to;
      const target = await findRollbackTarget(this.store, key, current, tx);
      if (target === undefined) {
        throw new ConflictError(`${label(key)} has no earlier version set to roll back to; deploy one or pass "to"`);
      }
      return target;
    }, input);
  }

  async history(key: EnvironmentKey, page: { limit: number; cursor?: string }): Promise<Page<HistoryEntryView>> {
    await this.require(key);
    // The store writes the entries as the page shows them: nothing to present.
    const rows = await this.store.historyPage(key, { before: decodeCursor(page.cursor), limit: page.limit + 1 });
    return toPage(rows, page.limit, (r) => r.revision, (r) => r);
  }

  /**
   * What the runbook shows besides the incident: the environment, the last change of its active
   * set (when, by whom) and where a rollback without `to` would go.
   */
  async runbookFacts(key: EnvironmentKey): Promise<{ environment: EnvironmentView; liveSince: { at: string; actor: string; action: string } | null; rollbackTarget: string | null }> {
    const environment = await this.get(key);
    const rows = await this.store.history(key, { limit: 200 });
    const last = rows.find((r) => r.version_set !== r.previous);
    const target = environment.active === null ? undefined : await findRollbackTarget(this.store, key, environment.active);
    return {
      environment,
      liveSince: last ? { at: last.at.toISOString(), actor: last.actor, action: last.action } : null,
      rollbackTarget: target ?? null,
    };
  }

  /** The current answer when memory holds it (see resolver.ts `hot`); undefined: call `resolve`. */
  hotAnswer(key: EnvironmentKey): ResolveAnswer | undefined {
    return this.resolver.hot(key);
  }

  /** `resolve?subject=` when memory holds every part of the answer (see resolver.ts `hotForSubject`). */
  hotSubjectAnswer(key: EnvironmentKey, subject: string): ResolveAnswer | undefined {
    return this.resolver.hotForSubject(key, subject);
  }

  /** See resolver.ts: from memory when possible, the last bundle (stale) while the database is down. */
  resolve(key: EnvironmentKey, options: ResolveOptions = {}): Promise<ResolveAnswer> {
    return this.resolver.resolve(key, options);
  }

  /** The change feed is listening again, so the database answers: stop answering stale. */
  databaseAvailable(): void {
    this.resolver.databaseAvailable();
  }

  /** One transaction: the pointer change (with its history row) and the audit row. */
  private async switch(
    actor: Actor,
    key: EnvironmentKey,
    action: "deploy" | "rollback",
    target: string | ((tx: Tx, current: string | null) => Promise<string>),
    input: SwitchOptions,
  ): Promise<SwitchResult> {
    let applied: AppliedChange;
    let acknowledged: string | null = null;
    try {
      applied = await this.deps.transactions.run(async (tx) => {
        const change = await this.deps.changes.apply(tx, actor, {
          project: key.project,
          environment: key.environment,
          action,
          active: async (current) => {
            if (typeof target !== "string") return target(tx, current.active);
            if (action === "deploy" && current.active === target) {
              // A deploy is still refused while a rollout runs, even a deploy that changes nothing.
              await this.deps.rollouts?.assertSwitchAllowed?.(tx, key, action);
              throw new UnchangedDeploy(current);
            }
            // While an incident is open: 409 incident_open unless acknowledged (its stable set passes).
            if (action === "deploy") acknowledged = (await this.incidents?.guard(tx, actor, key, { what: "deploy", target, acknowledge: input.acknowledgeIncident })) ?? null;
            return target;
          },
          detail: () => (acknowledged ? { acknowledged_incident: acknowledged } : undefined),
          authorize: (env) => requireDeployAccess(input.principal, { name: key.environment, protected: env.protected }),
          refuseWhenFrozen: true,
          // assertSwitchAllowed below refuses the switch while a rollout runs or is paused.
          rolloutAfter: null,
          reason: input.reason ?? null,
          expectedRevision: input.expectedRevision,
        });
        await this.deps.rollouts?.assertSwitchAllowed?.(tx, key, action);
        if (action === "rollback") await this.incidents?.onRolledBack(tx, actor, key, change);
        await this.deps.audit.record(tx, actor, {
          project: key.project,
          action: `environment.${action}`,
          target: `environment/${key.environment}`,
          before: { active: change.previous, revision: change.revision - 1 },
          after: { active: change.active, revision: change.revision, reason: input.reason ?? null, ...(acknowledged ? { acknowledged_incident: acknowledged } : {}) },
        });
        return change;
      });
    } catch (error) {
      if (error instanceof UnchangedDeploy) return { active: error.current.active, revision: error.current.revision, previous: error.current.active, changed: false };
      throw error;
    } finally {
      // Also after a failure: a commit whose acknowledgement was lost must not leave a stale entry.
      this.resolveCache.invalidate(key.project, key.environment);
    }
    return { active: applied.active, revision: applied.revision, previous: applied.previous, changed: true };
  }

  private async require(key: EnvironmentKey): Promise<EnvironmentRow> {
    const row = await this.store.find(key);
    if (!row) throw await this.notFound(key);
    return row;
  }

  /** Tells a missing project from a missing environment, for a clearer 404. */
  private async notFound(key: EnvironmentKey): Promise<NotFoundError> {
    await this.deps.projects.require(key.project);
    return new NotFoundError(`${label(key)} not found`);
  }

  /**
   * The environment and (when named) the version set, read at once — a deploy waits for one
   * round trip instead of two. The environment's 404 wins over the set's 422.
   */
  private async requireWithSet(key: EnvironmentKey, set: { id: string; path: string } | undefined): Promise<void> {
    const [env, found] = await Promise.allSettled([this.require(key), set ? this.requireSet(key.project, set.id, set.path) : undefined]);
    if (env.status === "rejected") throw env.reason;
    if (found.status === "rejected") throw found.reason;
  }

  private async requireSet(project: string, id: string, path: string): Promise<void> {
    const set = await this.deps.versionSets.find(project, id);
    if (!set) throw new UnprocessableError(`Version set ${id} does not exist in project ${project}`, [{ path, message: "no such version set in this project" }]);
  }

  private async present(row: EnvironmentRow): Promise<EnvironmentView> {
    return presentEnvironment(row, (await this.deps.rollouts?.rolloutOf(row.project, row.name)) ?? null);
  }

}
