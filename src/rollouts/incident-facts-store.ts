import type { Kysely } from "kysely";
import type { Tx } from "../core/transaction.js";
import type { Database } from "../db/schema.js";
import { queryOf } from "../db/transactions.js";
import type { IncidentKey, IncidentRollouts } from "../incidents/ports.js";

/** What the incidents domain reads of rollouts, observations and evidence packs (its IncidentRollouts port). */
export class KyselyRolloutIncidentFacts implements IncidentRollouts {
  constructor(private readonly db: Kysely<Database>) {}

  liveRollout(tx: Tx, key: IncidentKey): Promise<{ id: string } | undefined> {
    return queryOf(this.db, tx)
      .selectFrom("rollouts")
      .select("id")
      .where("project", "=", key.project)
      .where("environment", "=", key.environment)
      .where("state", "in", ["running", "paused"])
      .executeTakeFirst();
  }

  async candidateTraceIds(tx: Tx, project: string, rollout: string): Promise<string[]> {
    const rows = await queryOf(this.db, tx)
      .selectFrom("rollout_observations")
      .select("sample_trace_ids")
      .where("project", "=", project)
      .where("rollout_id", "=", rollout)
      .where("side", "=", "candidate")
      .orderBy("seq")
      .execute();
    return [...new Set(rows.flatMap((r) => r.sample_trace_ids))];
  }

  evidenceOf(project: string, rollout: string): Promise<Array<{ id: string; created_at: Date }>> {
    return this.db.selectFrom("evidence_packs").select(["id", "created_at"]).where("project", "=", project).where("rollout_id", "=", rollout).orderBy("seq").execute();
  }
}
