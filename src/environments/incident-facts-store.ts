import type { Kysely } from "kysely";
import type { Tx } from "../core/transaction.js";
import type { Database } from "../db/schema.js";
import { queryOf } from "../db/transactions.js";
import type { IncidentEnvironments, IncidentKey } from "../incidents/ports.js";

/** What the incidents domain reads of an environment (its IncidentEnvironments port). */
export class KyselyEnvironmentIncidentFacts implements IncidentEnvironments {
  constructor(private readonly db: Kysely<Database>) {}

  /** Row-locked: a deploy of the environment waits until the incident's opening commits. */
  lockActive(tx: Tx, key: IncidentKey): Promise<{ active: string | null } | undefined> {
    return queryOf(this.db, tx).selectFrom("environments").select("active").where("project", "=", key.project).where("name", "=", key.environment).forUpdate().executeTakeFirst();
  }
}
