import type { EnvironmentKey } from "../core/environment-key.js";
import type { MemoryTables } from "../core/memory-tables.js";
import type { Tx } from "../core/transaction.js";
import type {
  EnvironmentRecord,
  EnvironmentStore,
  HistoryPageEntry,
  HistoryRecord,
  LockedEnvironment,
  NewRevision,
  RolloutOfEnvironment,
} from "./ports.js";
import { presentHistory } from "./history-entry.js";
import { percentsOf } from "./store.js";

interface EnvironmentTable {
  seq: number;
  /** By `project\0name`. */
  rows: Map<string, EnvironmentRecord>;
}

const id = (key: EnvironmentKey) => `${key.project}\0${key.environment}`;
const copy = <T extends object>(row: T): T => structuredClone(row);
/** Stored as JSON, read back parsed: the same round trip as the jsonb column. */
const json = (value: unknown): unknown => (value === undefined ? null : JSON.parse(JSON.stringify(value)));
const ofRollout = (rollout: RolloutOfEnvironment) => (r: HistoryRecord) =>
  r.project === rollout.project && r.environment === rollout.environment && (r.detail as { rollout?: unknown } | null)?.rollout === rollout.id;

/**
 * Environments and their history in memory, for service unit tests; kept honest by
 * test/contract/environment-store.ts. `lockEnvironment` takes no lock (the fakes run one
 * transaction at a time); announcements are kept in a table, so a rolled-back transaction's
 * are dropped, like a NOTIFY that is only delivered at commit.
 */
export class MemoryEnvironmentStore implements EnvironmentStore {
  constructor(private readonly tables: MemoryTables) {}

  private get environments(): EnvironmentTable {
    return this.tables.table<EnvironmentTable>("environments", () => ({ seq: 0, rows: new Map() }));
  }

  private get entries(): HistoryRecord[] {
    return this.tables.table<HistoryRecord[]>("environment_history", () => []);
  }

  private get announcements(): string[] {
    return this.tables.table<string[]>("environment_announcements", () => []);
  }

  /** What `announce` sent (committed or not yet rolled back), oldest first: for tests. */
  announced(): string[] {
    return [...this.announcements];
  }

  async find(key: EnvironmentKey): Promise<EnvironmentRecord | undefined> {
    const row = this.environments.rows.get(id(key));
    return row && copy(row);
  }

  async findActive(key: EnvironmentKey): Promise<{ active: string | null; revision: number } | undefined> {
    const row = this.environments.rows.get(id(key));
    return row && { active: row.active, revision: row.revision };
  }

  async environmentExists(key: EnvironmentKey): Promise<boolean> {
    return this.environments.rows.has(id(key));
  }

  async list(project: string, options: { names: "*" | readonly string[]; before?: number; limit: number }): Promise<EnvironmentRecord[]> {
    return [...this.environments.rows.values()]
      .filter(
        (r) =>
          r.project === project &&
          (options.names === "*" || options.names.includes(r.name)) &&
          (options.before === undefined || r.seq < options.before),
      )
      .sort((a, b) => b.seq - a.seq)
      .slice(0, options.limit)
      .map(copy);
  }

  async insertIfAbsent(_tx: Tx, key: EnvironmentKey, isProtected: boolean): Promise<EnvironmentRecord | undefined> {
    const table = this.environments;
    if (table.rows.has(id(key))) return undefined;
    const now = new Date();
    const row: EnvironmentRecord = {
      seq: ++table.seq,
      project: key.project,
      name: key.environment,
      active: null,
      revision: 0,
      protected: isProtected,
      frozen: false,
      fallback: null,
      created_at: now,
      updated_at: now,
    };
    table.rows.set(id(key), row);
    return copy(row);
  }

  async setProtected(_tx: Tx, key: EnvironmentKey, isProtected: boolean): Promise<EnvironmentRecord | undefined> {
    const row = this.environments.rows.get(id(key));
    if (!row || row.protected === isProtected) return undefined;
    row.protected = isProtected;
    return copy(row);
  }

  async setFallback(_tx: Tx, key: EnvironmentKey, fallback: string | null): Promise<void> {
    const row = this.environments.rows.get(id(key));
    if (row) row.fallback = fallback;
  }

  async lockEnvironment(_tx: Tx, key: EnvironmentKey): Promise<LockedEnvironment | undefined> {
    const row = this.environments.rows.get(id(key));
    return row && { name: row.name, active: row.active, revision: row.revision, frozen: row.frozen, protected: row.protected, fallback: row.fallback };
  }

  async writeRevision(_tx: Tx, key: EnvironmentKey, change: NewRevision): Promise<EnvironmentRecord> {
    const row = this.environments.rows.get(id(key));
    if (!row) throw new Error(`no environment ${key.project}/${key.environment} to write a revision to`);
    if (this.entries.some((e) => e.project === key.project && e.environment === key.environment && e.revision === change.revision)) {
      // The history's primary key (project, environment, revision).
      throw new Error(`revision ${change.revision} of ${key.project}/${key.environment} already written`);
    }
    const at = new Date();
    row.active = change.active;
    row.revision = change.revision;
    row.updated_at = at;
    if (change.frozen !== undefined) row.frozen = change.frozen;
    this.entries.push({
      project: key.project,
      environment: key.environment,
      revision: change.revision,
      action: change.action,
      version_set: change.active,
      previous: change.previous,
      actor: change.actor,
      actor_token_id: change.actor_token_id,
      reason: change.reason,
      trace_id: change.trace_id,
      detail: json(change.detail),
      at,
    });
    return copy(row);
  }

  async announce(_tx: Tx, payload: string): Promise<void> {
    this.announcements.push(payload);
  }

  private historyOfEnvironment(key: EnvironmentKey): HistoryRecord[] {
    return this.entries.filter((e) => e.project === key.project && e.environment === key.environment);
  }

  async history(key: EnvironmentKey, options: { before?: number; limit: number }): Promise<HistoryRecord[]> {
    return this.historyOfEnvironment(key)
      .filter((e) => options.before === undefined || e.revision < options.before)
      .sort((a, b) => b.revision - a.revision)
      .slice(0, options.limit)
      .map(copy);
  }

  async historyPage(key: EnvironmentKey, options: { before?: number; limit: number }): Promise<HistoryPageEntry[]> {
    return (await this.history(key, options)).map(presentHistory);
  }

  async historyAfter(key: EnvironmentKey, after: number, limit: number): Promise<HistoryRecord[]> {
    return this.historyOfEnvironment(key)
      .filter((e) => e.revision > after)
      .sort((a, b) => a.revision - b.revision)
      .slice(0, limit)
      .map(copy);
  }

  async lastOf(key: EnvironmentKey, atOrBefore: number, actions: readonly string[]): Promise<HistoryRecord | undefined> {
    const found = this.historyOfEnvironment(key)
      .filter((e) => e.revision <= atOrBefore && actions.includes(e.action))
      .sort((a, b) => b.revision - a.revision)[0];
    return found && copy(found);
  }

  async entryAt(key: EnvironmentKey, at: Date): Promise<HistoryRecord | undefined> {
    const found = this.historyOfEnvironment(key)
      .filter((e) => e.at.getTime() <= at.getTime())
      .sort((a, b) => b.at.getTime() - a.at.getTime() || b.revision - a.revision)[0];
    return found && copy(found);
  }

  async percentChanges(rollout: RolloutOfEnvironment): Promise<Array<{ at: Date; percent: number }>> {
    const rows = this.entries
      .filter((e) => ofRollout(rollout)(e) && (e.action === "rollout_start" || e.action === "advance"))
      .sort((a, b) => a.revision - b.revision);
    return percentsOf(rows).map((p) => ({ at: new Date(p.at), percent: p.percent }));
  }

  async historyOf(rollout: RolloutOfEnvironment): Promise<HistoryRecord[]> {
    return this.entries
      .filter(ofRollout(rollout))
      .sort((a, b) => a.revision - b.revision)
      .map(copy);
  }
}
