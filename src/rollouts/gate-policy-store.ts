import { sql, type Kysely } from "kysely";
import type { EnvironmentKey } from "../core/environment-key.js";
import type { Tx } from "../core/transaction.js";
import type { Database } from "../db/schema.js";
import { queryOf } from "../db/transactions.js";
import type { GatePolicyStore } from "./ports.js";

/** The gate_policies table: the stored policy of an environment, as JSON (parsed by gate-policy.ts). */
export class KyselyGatePolicyStore implements GatePolicyStore {
  constructor(private readonly db: Kysely<Database>) {}

  async find(key: EnvironmentKey, tx?: Tx): Promise<unknown> {
    const row = await queryOf(this.db, tx)
      .selectFrom("gate_policies")
      .select("policy")
      .where("project", "=", key.project)
      .where("environment", "=", key.environment)
      .executeTakeFirst();
    return row?.policy;
  }

  async save(tx: Tx, key: EnvironmentKey, policy: unknown, updatedBy: string): Promise<void> {
    const json = JSON.stringify(policy);
    await queryOf(this.db, tx)
      .insertInto("gate_policies")
      .values({ project: key.project, environment: key.environment, policy: json, updated_by: updatedBy })
      .onConflict((oc) =>
        oc.columns(["project", "environment"]).doUpdateSet({ policy: json, updated_by: updatedBy, updated_at: sql<Date>`clock_timestamp()` }),
      )
      .execute();
  }
}
