import { MemoryAuditStore } from "../../src/audit/memory-store.js";
import type { Actor } from "../../src/core/actor.js";
import { MemoryTables } from "../../src/core/memory-tables.js";
import { EnvironmentChanger } from "../../src/environments/change.js";
import { MemoryEnvironmentStore } from "../../src/environments/memory-store.js";
import type { EnvironmentStore, RolloutFixedFields, RolloutHooks } from "../../src/environments/ports.js";
import { ResolveCache } from "../../src/environments/resolve-cache.js";
import { EnvironmentService } from "../../src/environments/service.js";
import { MemoryProjectStore } from "../../src/projects/memory-store.js";
import { ProjectService } from "../../src/projects/service.js";

export const actor: Actor = { name: "ci", tokenId: null, traceId: "trace-1", clientAddress: null };

/**
 * An EnvironmentService over the memory fakes. `store` counts the calls made to it and fails
 * them all while `database.down` (as pg does when the server is gone); `sets` are the version
 * sets that exist, `retired` those a change must refuse (410), `events` the webhook events
 * enqueued, `pastRollouts` what the rollouts domain knows of past rollouts.
 */
export function fakeEnvironments(options: { rollouts?: RolloutHooks; cacheTtlMs?: number } = {}) {
  const tables = new MemoryTables();
  const memory = new MemoryEnvironmentStore(tables);
  const audit = new MemoryAuditStore(tables);
  const projects = new ProjectService({ store: new MemoryProjectStore(tables), audit, transactions: tables });
  const calls: string[] = [];
  const database = { down: false };
  const store = new Proxy(memory, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        if (database.down) return Promise.reject(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as EnvironmentStore;
  const sets = new Set<string>();
  const retired = new Set<string>();
  const events: Array<{ project: string; event: string; data: unknown }> = [];
  const pastRollouts: RolloutFixedFields[] = [];
  const bundles: string[] = [];
  const clock = { now: 0 };
  const cache = new ResolveCache({ ttlMs: options.cacheTtlMs ?? 1000, now: () => clock.now });
  const changes = new EnvironmentChanger({
    store,
    sets: {
      async assertSetsLive(_tx, project, ids) {
        const gone = ids.filter((id) => retired.has(id));
        if (gone.length > 0) throw Object.assign(new Error(`Version set ${gone.join(", ")} of project ${project} is retired`), { status: 410 });
      },
    },
    events: { enqueue: async (_tx, input) => void events.push(structuredClone(input)) },
  });
  const environments = new EnvironmentService({
    store,
    changes,
    transactions: tables,
    audit,
    projects,
    versionSets: {
      find: async (_p, id) => (sets.has(id) ? { id } : undefined),
      bundleBytes: async (_p, id) => {
        bundles.push(id);
        return { json: JSON.stringify({ id }), etag: `"${id}"` };
      },
      versionSetExists: async (_tx, _p, id) => sets.has(id),
    },
    pastRollouts: { fixedOf: async (_p, ids) => pastRollouts.filter((r) => ids.includes(r.id)).map((r) => structuredClone(r)) },
    resolveCache: cache,
    ...(options.rollouts ? { rollouts: options.rollouts } : {}),
  });
  return { tables, memory, audit, projects, environments, calls, database, sets, retired, events, pastRollouts, bundles, clock, cache };
}
