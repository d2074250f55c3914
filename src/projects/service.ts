import type { Actor } from "../core/actor.js";
import { NotFoundError } from "../core/errors.js";
import { decodeCursor, toPage, type Page } from "../core/page.js";
import type { Principal } from "../core/principal.js";
import type { Transactions } from "../core/transaction.js";
import type { ProjectAudit, ProjectDirectory, ProjectRecord, ProjectStore } from "./ports.js";

export interface ProjectView {
  name: string;
  description: string | null;
  created_at: string;
}

function present(row: ProjectRecord): ProjectView {
  return { name: row.name, description: row.description, created_at: row.created_at.toISOString() };
}

export interface ProjectServiceDeps {
  store: ProjectStore;
  audit: ProjectAudit;
  transactions: Transactions;
  /** Most project rows kept in memory (default 10 000); the oldest-filled goes first. */
  cacheSize?: number;
}

/**
 * Every project-scoped request asks `require` first. Project rows never change once created
 * (ProjectStore's comment), so a found row is kept without any invalidation or TTL: it is as
 * true on every instance as on the one that read it. A miss is never kept: the project may be
 * created a moment later, on any instance.
 */
export class ProjectService implements ProjectDirectory {
  private readonly known = new Map<string, ProjectRecord>();
  private readonly cacheSize: number;

  constructor(private readonly deps: ProjectServiceDeps) {
    this.cacheSize = deps.cacheSize ?? 10_000;
  }

  /** Idempotent create: an existing project is returned unchanged (its description is kept). */
  async ensure(actor: Actor, name: string, description: string | null): Promise<{ created: boolean; project: ProjectView }> {
    const { store, audit } = this.deps;
    return this.deps.transactions.run(async (tx) => {
      const created = await store.insertIfAbsent(tx, name, description);
      if (created) {
        await audit.record(tx, actor, { project: name, action: "project.create", target: `project/${name}`, after: { description } });
        return { created: true, project: present(created) };
      }
      const existing = await store.find(name, tx);
      return { created: false, project: present(existing!) };
    });
  }

  /** The project row, or 404. Every project-scoped service calls this first. */
  async require(name: string): Promise<ProjectRecord> {
    const cached = this.known.get(name);
    if (cached) return cached;
    const row = await this.deps.store.find(name);
    if (!row) throw new NotFoundError(`Project ${name} not found`);
    this.remember(row);
    return row;
  }

  private remember(row: ProjectRecord): void {
    if (this.known.size >= this.cacheSize) this.known.delete(this.known.keys().next().value!);
    this.known.set(row.name, Object.freeze({ ...row }));
  }

  async list(principal: Principal, page: { limit: number; cursor?: string }): Promise<Page<ProjectView>> {
    const rows = await this.deps.store.list({
      names: principal.projects === "*" ? "*" : [...principal.projects],
      before: decodeCursor(page.cursor),
      limit: page.limit + 1,
    });
    return toPage(rows, page.limit, (r) => r.seq, present);
  }
}
