import { randomBytes } from "node:crypto";
import type { ArtifactStore } from "../artifacts/ports.js";
import { canSeeEnvironment, type Principal } from "../core/principal.js";
import { ConflictError, ForbiddenError, NotFoundError } from "../core/errors.js";
import type { Actor } from "../core/actor.js";
import { decodeCursor, toPage, type Page } from "../core/page.js";
import type { Transactions, Tx } from "../core/transaction.js";
import type {
  IncidentAudit,
  IncidentEnvironments,
  IncidentKey,
  IncidentOutbox,
  IncidentRecord,
  IncidentRollouts,
  IncidentState,
  IncidentStore,
  Mitigation,
  ProjectDirectory,
  Severity,
} from "./ports.js";
import { presentIncident, type IncidentView } from "./present.js";
import { checkRegressionSet } from "./regression.js";

const SUMMARY_MAX = 2000;
const label = (key: IncidentKey) => `environment ${key.environment} of project ${key.project}`;
const note = (actor: Actor, text: string) => ({ at: new Date().toISOString(), author: actor.name, text });

/** What a rollout abort tells the incidents domain (RolloutSteps.abort, in its transaction). */
export interface RolloutAbortInfo {
  rollout: { id: string; stable: string; candidate: string };
  /** The gate's decision when the abort was the gate's (auto) or a person's on a red/black decision. */
  decision: { action: string; signal: string } | undefined;
  /** The abort's revision, or the freeze's when the decision was stop. */
  revision: number;
  action: "abort" | "freeze";
  explanation: string;
  /** Degrade aborts the rollout and opens the incident itself. */
  byDegrade: boolean;
}

/**
 * Incidents: opened by hand, or automatically when the gate rolls back or stops a rollout and
 * when an environment is degraded — unless one is already open for the environment, which the
 * new event is then linked to (the partial unique index decides between concurrent openers).
 * While one is not closed, deploys of another set than its stable set and new rollouts need
 * `acknowledge_incident`. Closing needs a regression set that learned from it (regression.ts),
 * or an admin's waiver.
 */
export interface IncidentServiceDeps {
  store: IncidentStore;
  projects: ProjectDirectory;
  environments: IncidentEnvironments;
  rollouts: IncidentRollouts;
  /** Regression sets are evalset versions: read in the closing transaction. */
  artifacts: Pick<ArtifactStore, "find">;
  audit: IncidentAudit;
  outbox: IncidentOutbox;
  transactions: Transactions;
}

/** What an applied environment change tells the hooks (environments' AppliedChange has these). */
interface Applied {
  active: string | null;
  revision: number;
}

export class IncidentService {
  private readonly store: IncidentStore;

  constructor(private readonly deps: IncidentServiceDeps) {
    this.store = deps.store;
  }

  /** Incidents of environments the caller may not see are left out of the page. */
  async list(principal: Principal, project: string, query: { state?: IncidentState; environment?: string; limit: number; cursor?: string }): Promise<Page<IncidentView>> {
    await this.deps.projects.require(project);
    const rows = await this.store.list(project, {
      ...(query.state ? { state: query.state } : {}),
      ...(query.environment ? { environment: query.environment } : {}),
      before: decodeCursor(query.cursor),
      limit: query.limit + 1,
    });
    const page = toPage(rows, query.limit, (r) => r.seq, (r) => r);
    const items = await Promise.all(page.items.map((r) => this.present(r)));
    return { items: items.filter((i) => canSeeEnvironment(principal, i.environment)), next_cursor: page.next_cursor };
  }

  /** 404 for an incident of an environment the caller may not see, as for one that does not exist. */
  async get(principal: Principal, project: string, id: string): Promise<IncidentView> {
    const incident = await this.present(await this.require(project, id));
    if (!canSeeEnvironment(principal, incident.environment)) throw new NotFoundError(`Incident ${id} not found in project ${project}`);
    return incident;
  }

  /** The environment's incident that is not closed, if any (for the runbook). */
  async openOf(key: IncidentKey): Promise<IncidentView | undefined> {
    const [row] = await this.store.list(key.project, { environment: key.environment, notClosed: true, limit: 1 });
    return row ? this.present(row) : undefined;
  }

  /** The incident a rollout opened (evidence packs name it). */
  async ofRollout(project: string, rollout: string): Promise<string | null> {
    return (await this.store.byRollout(project, rollout))?.id ?? null;
  }

  async open(actor: Actor, principal: Principal, project: string, input: { environment: string; severity: Severity; summary: string }): Promise<IncidentView> {
    if (!canSeeEnvironment(principal, input.environment)) throw new NotFoundError(`Environment ${input.environment} not found in project ${project}`);
    await this.deps.projects.require(project);
    const key = { project, environment: input.environment };
    const { environments, rollouts } = this.deps;
    const row = await this.deps.transactions.run(async (trx) => {
      const env = await environments.lockActive(trx, key);
      if (!env) throw new NotFoundError(`Environment ${input.environment} not found in project ${project}`);
      const live = await rollouts.liveRollout(trx, key);
      const inserted = await this.store.insertIfNoneOpen(trx, key, {
        id: newIncidentId(),
        severity: input.severity,
        summary: input.summary,
        openedBy: actor.name,
        rollout: live?.id ?? null,
        stable: env.active,
        sampleTraceIds: live ? await rollouts.candidateTraceIds(trx, project, live.id) : [],
      });
      if (!inserted) {
        const open = await this.store.openFor(trx, key);
        throw new ConflictError(`Incident ${open?.id ?? "?"} is already open on ${label(key)}: add a note to it or close it first`);
      }
      await this.opened(trx, actor, inserted);
      return inserted;
    });
    return this.present(row);
  }

  async addNote(actor: Actor, principal: Principal, project: string, id: string, text: string): Promise<IncidentView> {
    await this.get(principal, project, id);
    const row = await this.deps.transactions.run(async (trx) => {
      const row = await this.lock(trx, project, id);
      if (row.state === "closed") throw new ConflictError(`Incident ${id} is closed; notes go on open incidents`);
      const updated = await this.store.appendNote(trx, row, note(actor, text));
      await this.deps.audit.record(trx, actor, { project, action: "incident.note", target: incidentTarget(row), after: { text } });
      return updated;
    });
    return this.present(row);
  }

  async close(
    actor: Actor,
    principal: Principal,
    project: string,
    id: string,
    input: { regressionSet?: string; summary?: string; waive?: boolean; reason?: string },
  ): Promise<IncidentView> {
    await this.get(principal, project, id);
    const row = await this.deps.transactions.run(async (trx) => {
      const row = await this.lock(trx, project, id);
      if (row.state === "closed") throw new ConflictError(`Incident ${id} is already closed (${row.closed_at?.toISOString()})`);
      let regressionSet: string | null = null;
      let resolution: object;
      if (input.waive) {
        if (!principal.scopes.has("admin")) throw new ForbiddenError(`Closing incident ${id} without a regression set (waive) needs an admin token`);
        resolution = { waived: true, reason: input.reason ?? null, summary: input.summary ?? null };
      } else {
        if (input.regressionSet === undefined) {
          throw new ConflictError(
            `Incident ${id} closes only with a regression set: publish an evalset version with a case learned from it and send {"regression_set": "evalset/<name>@<version>"}`,
            "regression_set_required",
          );
        }
        // In the transaction: PGlite has one connection, and a read outside it would wait forever.
        regressionSet = await checkRegressionSet(this.deps.artifacts, row, input.regressionSet, trx);
        resolution = { regression_set: regressionSet, summary: input.summary ?? null };
      }
      const closed = await this.store.close(trx, row, { closedBy: actor.name, regressionSet, resolution });
      await this.deps.audit.record(trx, actor, { project, action: "incident.close", target: incidentTarget(row), before: { state: row.state }, after: { state: "closed", ...resolution } });
      await this.deps.outbox.enqueue(trx, { project, event: "incident.closed", data: { id, environment: row.environment, regression_set: regressionSet, waived: input.waive === true } });
      return closed;
    });
    return this.present(row);
  }

  // ------------------------------------------------------------ hooks, in the caller's transaction

  /**
   * After a rollout abort. On a red/black decision (gate, or a person aborting on one) it opens
   * an incident — or links the open one — already mitigated by this abort; any other abort
   * mitigates an open incident of the environment.
   */
  readonly onRolloutAborted = async (trx: Tx, actor: Actor, key: IncidentKey, info: RolloutAbortInfo): Promise<void> => {
    if (info.byDegrade) return;
    const red = info.decision !== undefined && (info.decision.action === "rollback" || info.decision.action === "stop");
    const mitigated = { action: info.action, revision: info.revision };
    if (!red) {
      const open = await this.store.openFor(trx, key);
      if (open) await this.mitigate(trx, actor, open, { mitigated, stable: info.rollout.stable, text: `mitigated: rollout ${info.rollout.id} aborted` });
      return;
    }
    const traces = await this.deps.rollouts.candidateTraceIds(trx, key.project, info.rollout.id);
    await this.openOrLink(trx, actor, key, {
      severity: info.decision!.action === "stop" ? "sev1" : "sev2",
      summary: `Rollout ${info.rollout.id} of ${info.rollout.candidate} ${info.action === "freeze" ? "stopped (environment frozen)" : "rolled back"}: ${info.explanation}`,
      rollout: info.rollout.id,
      stable: info.rollout.stable,
      sampleTraceIds: traces,
      mitigated,
      text: `${info.decision!.signal} gate decision: rollout ${info.rollout.id} aborted`,
    });
  };

  /** After a degrade: opens an incident (mitigated by the degrade) or links the open one. */
  readonly onDegraded = async (trx: Tx, actor: Actor, key: IncidentKey, change: { applied: Applied; rollout: string | null; reason: string | null }): Promise<{ incident: string }> => {
    const traces = change.rollout ? await this.deps.rollouts.candidateTraceIds(trx, key.project, change.rollout) : [];
    const id = await this.openOrLink(trx, actor, key, {
      severity: "sev2",
      summary: `Degraded to ${change.applied.active}${change.reason ? `: ${change.reason}` : ""}`,
      rollout: change.rollout,
      stable: change.applied.active,
      sampleTraceIds: traces,
      mitigated: { action: "degrade", revision: change.applied.revision },
      text: `degraded to ${change.applied.active} (revision ${change.applied.revision})`,
    });
    return { incident: id };
  };

  /** After a rollback: it stops the loss of an open incident. */
  readonly onRolledBack = async (trx: Tx, actor: Actor, key: IncidentKey, applied: Applied): Promise<void> => {
    const open = await this.store.openFor(trx, key);
    if (open) await this.mitigate(trx, actor, open, { mitigated: { action: "rollback", revision: applied.revision }, stable: applied.active, text: `mitigated: rolled back to ${applied.active}` });
  };

  /**
   * Deploys and rollout starts while an incident is not closed: 409 incident_open unless the
   * body acknowledged it; a deploy of the incident's stable set needs nothing. Returns the
   * acknowledged incident (recorded as a note on it; the caller records it in history and audit).
   */
  readonly guard = async (
    trx: Tx,
    actor: Actor,
    key: IncidentKey,
    change: { what: string; target: string | null; acknowledge?: string | undefined },
  ): Promise<string | null> => {
    const open = await this.store.openFor(trx, key);
    if (!open) return null;
    if (change.what === "deploy" && change.target !== null && change.target === open.stable) return null;
    if (change.acknowledge !== open.id) {
      throw new ConflictError(
        `Incident ${open.id} (${open.severity}, ${open.state}) is open on ${label(key)}: ${change.what} refused. ` +
          `Close it (POST …/incidents/${open.id}/close), deploy its stable set ${open.stable ?? "(none)"}, or send "acknowledge_incident": "${open.id}"`,
        "incident_open",
      );
    }
    await this.store.appendNote(trx, open, note(actor, `acknowledged: ${change.what}${change.target ? ` of ${change.target}` : ""}`));
    return open.id;
  };

  // ------------------------------------------------------------ internals

  private async openOrLink(
    trx: Tx,
    actor: Actor,
    key: IncidentKey,
    input: { severity: Severity; summary: string; rollout: string | null; stable: string | null; sampleTraceIds: string[]; mitigated: Mitigation; text: string },
  ): Promise<string> {
    const inserted = await this.store.insertIfNoneOpen(trx, key, {
      id: newIncidentId(),
      severity: input.severity,
      summary: input.summary.slice(0, SUMMARY_MAX),
      openedBy: actor.name,
      rollout: input.rollout,
      stable: input.stable,
      sampleTraceIds: input.sampleTraceIds,
      mitigated: input.mitigated,
      note: note(actor, input.text),
    });
    if (inserted) {
      await this.opened(trx, actor, inserted);
      await this.deps.outbox.enqueue(trx, { project: key.project, event: "incident.mitigated", data: { id: inserted.id, environment: key.environment, mitigated_by: input.mitigated } });
      return inserted.id;
    }
    const open = (await this.store.openFor(trx, key))!;
    const linked = await this.store.link(trx, open, { rollout: input.rollout, sampleTraceIds: input.sampleTraceIds });
    await this.mitigate(trx, actor, linked, { mitigated: input.mitigated, stable: input.stable, text: `linked: ${input.text}` });
    return open.id;
  }

  private async mitigate(trx: Tx, actor: Actor, row: IncidentRecord, input: { mitigated: Mitigation; stable: string | null; text: string }): Promise<void> {
    const wasOpen = row.state === "open";
    const updated = await this.store.link(trx, row, { mitigated: input.mitigated, stable: input.stable });
    await this.store.appendNote(trx, updated, note(actor, input.text));
    if (!wasOpen) return;
    await this.deps.audit.record(trx, actor, { project: row.project, action: "incident.mitigate", target: incidentTarget(row), before: { state: "open" }, after: { state: "mitigated", ...input.mitigated } });
    await this.deps.outbox.enqueue(trx, { project: row.project, event: "incident.mitigated", data: { id: row.id, environment: row.environment, mitigated_by: input.mitigated } });
  }

  private async opened(trx: Tx, actor: Actor, row: IncidentRecord): Promise<void> {
    const data = { id: row.id, environment: row.environment, severity: row.severity, summary: row.summary, state: row.state, rollout: row.rollout };
    await this.deps.audit.record(trx, actor, { project: row.project, action: "incident.open", target: incidentTarget(row), after: data });
    await this.deps.outbox.enqueue(trx, { project: row.project, event: "incident.opened", data });
  }

  private async lock(trx: Tx, project: string, id: string): Promise<IncidentRecord> {
    const row = await this.store.findForUpdate(trx, project, id);
    if (!row) throw await this.notFound(project, id);
    return row;
  }

  private async require(project: string, id: string): Promise<IncidentRecord> {
    const row = await this.store.find(project, id);
    if (!row) throw await this.notFound(project, id);
    return row;
  }

  private async notFound(project: string, id: string): Promise<NotFoundError> {
    await this.deps.projects.require(project);
    return new NotFoundError(`Incident ${id} not found in project ${project}`);
  }

  private async present(row: IncidentRecord): Promise<IncidentView> {
    return presentIncident(row, row.rollout ? await this.deps.rollouts.evidenceOf(row.project, row.rollout) : []);
  }
}

export function newIncidentId(): string {
  return `inc_${randomBytes(12).toString("hex")}`;
}

/**
 * The audit target of everything about an incident: under its environment, so a token limited
 * to other environments does not see it and `?target=environment/prod*` includes it.
 */
export function incidentTarget(row: Pick<IncidentRecord, "environment" | "id">): string {
  return `environment/${row.environment}/incident/${row.id}`;
}
