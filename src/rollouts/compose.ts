import type { BlobStore } from "../blobs/ports.js";
import type { Transactions } from "../core/transaction.js";
import type { Logger } from "../logger.js";
import { EvidenceService } from "./evidence.js";
import { GateService } from "./gate-service.js";
import type { AuditStore, ProjectDirectory, RolloutEnvironmentChanges, RolloutEnvironments, RolloutEvents, RolloutStores, VersionSetEvidenceSource, VersionSetLookup } from "./ports.js";
import { RolloutCache } from "./rollout-cache.js";
import { ScheduleLoop, type ScheduleLoopOptions } from "./schedule-loop.js";
import { RolloutService } from "./service.js";
import { RolloutSteps, type RolloutIncidentHooks } from "./steps.js";

export interface RolloutDomainDeps {
  transactions: Transactions;
  stores: RolloutStores;
  environments: RolloutEnvironments;
  changes: RolloutEnvironmentChanges;
  projects: ProjectDirectory;
  /** Appends entries in the steps' transactions; reads a rollout's entries for its evidence pack. */
  audit: AuditStore;
  events: RolloutEvents;
  /** Existence in the step's transaction, and the sets and their diff for evidence packs. */
  versionSets: VersionSetLookup & VersionSetEvidenceSource;
  blobStore: BlobStore;
  /** The environments' resolve cache (a promote changes the active set it holds). */
  resolveCache: { invalidate(project: string, env: string): void };
  logger: Logger;
  /** The rollout assignment cache; app.ts shares it with cross-instance propagation. */
  cache?: RolloutCache;
  /** The incidents domain: hooks into aborts and starts, and the incident a pack names. */
  incidents?: RolloutIncidentHooks & { ofRollout(project: string, rollout: string): Promise<string | null> };
}

/**
 * The rollouts domain, wired once: the step primitives and the evidence writer are built here
 * and shared by RolloutService, GateService and the schedule loop, and by nobody else — other
 * domains and routes use the services' methods.
 */
export function composeRollouts(deps: RolloutDomainDeps): {
  rollouts: RolloutService;
  gates: GateService;
  scheduleLoop(options: { logger: Logger; options?: Partial<ScheduleLoopOptions> }): ScheduleLoop;
} {
  const { stores, environments } = deps;
  const sources = { policies: stores.policies, observations: stores.observations, environments };
  const cache = deps.cache ?? new RolloutCache();
  const steps = new RolloutSteps({
    ...sources,
    transactions: deps.transactions,
    rollouts: stores.rollouts,
    changes: deps.changes,
    projects: deps.projects,
    audit: deps.audit,
    events: deps.events,
    versionSets: deps.versionSets,
    cache,
    resolveCache: deps.resolveCache,
    incidents: deps.incidents,
  });
  const incidents = deps.incidents;
  const evidence = new EvidenceService({
    ...sources,
    transactions: deps.transactions,
    rollouts: stores.rollouts,
    evidence: stores.evidence,
    projects: deps.projects,
    audit: deps.audit,
    blobStore: deps.blobStore,
    versionSets: deps.versionSets,
    incidentOf: incidents ? (project, rollout) => incidents.ofRollout(project, rollout) : undefined,
  });
  const rollouts = new RolloutService({ stores, environments, changes: deps.changes, projects: deps.projects, audit: deps.audit, steps, evidence, cache, logger: deps.logger });
  const gates = new GateService({ stores, environments, audit: deps.audit, steps, rollouts });
  return {
    rollouts,
    gates,
    scheduleLoop: (options) => new ScheduleLoop({ rollouts, steps, store: stores.rollouts, sources }, options),
  };
}
