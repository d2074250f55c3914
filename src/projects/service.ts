import type { Kysely } from "kysely";
import { recordAudit } from "../audit/store.js";
import type { Principal } from "../auth/principal.js";
import type { Database } from "../db/schema.js";
import { NotFoundError } from "../core/errors.js";
import type { Actor } from "../core/actor.js";
import { decodeCursor, toPage, type Page } from "../core/page.js";
import { ProjectStore, type ProjectRow } from "./store.js";

export interface ProjectView {
  name: string;
  description: string | null;
  created_at: string;
}

function present(row: ProjectRow): ProjectView {
  return { name: row.name, description: row.description, created_at: row.created_at.toISOString() };
}

export class ProjectService {
  private readonly store: ProjectStore;

  constructor(private readonly db: Kysely<Database>) {
    this.store = new ProjectStore(db);
  }

  /** Idempotent create: an existing project is returned unchanged (its description is kept). */
  async ensure(actor: Actor, name: string, description: string | null): Promise<{ created: boolean; project: ProjectView }> {
    return this.db.transaction().execute(async (trx) => {
      const created = await this.store.insertIfAbsent(trx, name, description);
      if (created) {
        await recordAudit(trx, actor, { project: name, action: "project.create", target: `project/${name}`, after: { description } });
        return { created: true, project: present(created) };
      }
      const existing = await new ProjectStore(trx).find(name);
      return { created: false, project: present(existing!) };
    });
  }

  /** The project row, or 404. Every project-scoped service calls this first. */
  async require(name: string): Promise<ProjectRow> {
    const row = await this.store.find(name);
    if (!row) throw new NotFoundError(`Project ${name} not found`);
    return row;
  }

  async list(principal: Principal, page: { limit: number; cursor?: string }): Promise<Page<ProjectView>> {
    const rows = await this.store.list({
      names: principal.projects === "*" ? "*" : [...principal.projects],
      before: decodeCursor(page.cursor),
      limit: page.limit + 1,
    });
    return toPage(rows, page.limit, (r) => r.seq, present);
  }
}
