import { sql, type Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { GoneError } from "../core/errors.js";

export interface RetiredPin {
  set: string;
  kind: string;
  name: string;
  version: number;
}

export function describeRetired(pins: RetiredPin[]): string {
  return pins.map((p) => `${p.kind}/${p.name}@${p.version}`).join(", ");
}

export function retiredSetError(project: string, pins: RetiredPin[]): GoneError {
  const sets = [...new Set(pins.map((p) => p.set))].join(", ");
  return new GoneError(
    `Version set ${sets} of project ${project} pins ${describeRetired(pins)}, retired by garbage collection (outside the retention settings): its files are gone`,
  );
}

/**
 * Inside a transaction that makes sets reachable (deploy, rollback, a rollout's candidate):
 * share-locks the index versions they pin and throws 410 when one is retired. A collection
 * retires a version only under an update lock on its row and re-reads what is reachable after
 * taking it, so either it sees this transaction's change (and keeps the version) or this
 * transaction waits for the retirement and refuses.
 */
export async function assertSetsLive(trx: Kysely<Database>, project: string, sets: string[]): Promise<void> {
  if (sets.length === 0) return;
  const rows = await sql<RetiredPin & { retired: boolean }>`
    select vs.id as set, a.kind, a.name, a.version, a.retired_at is not null as retired
    from version_sets vs
    cross join lateral jsonb_each(vs.components) as c(slot, v)
    join artifacts a on a.project = vs.project and a.kind = c.v ->> 'kind' and a.name = c.v ->> 'name' and a.version = (c.v ->> 'version')::int
    where vs.project = ${project} and vs.id in (${sql.join(sets)}) and a.kind = 'index'
    order by a.name, a.version
    for share of a`.execute(trx);
  const retired = rows.rows.filter((r) => r.retired);
  if (retired.length > 0) throw retiredSetError(project, retired);
}
