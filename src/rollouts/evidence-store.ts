import type { Kysely } from "kysely";
import { ConflictError } from "../core/errors.js";
import type { EnvironmentKey } from "../core/environment-key.js";
import type { Tx } from "../core/transaction.js";
import { isUniqueViolation } from "../db/errors.js";
import type { Database } from "../db/schema.js";
import { queryOf } from "../db/transactions.js";
import type { EvidenceRecord, EvidenceStore, NewEvidence } from "./ports.js";

/** The evidence_packs table: one row per complete pack (written after its files and manifest). */
export class KyselyEvidenceStore implements EvidenceStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(tx: Tx, key: EnvironmentKey, row: NewEvidence): Promise<EvidenceRecord> {
    try {
      return await queryOf(this.db, tx)
        .insertInto("evidence_packs")
        .values({
          project: key.project,
          id: row.id,
          environment: key.environment,
          rollout_id: row.rolloutId,
          trigger: row.trigger,
          location: row.location,
          files: JSON.stringify(row.files),
          manifest_digest: row.manifestDigest,
          created_by: row.createdBy,
          trace_id: row.traceId,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`Evidence pack ${row.id} already exists in project ${key.project}`);
      throw err;
    }
  }

  find(project: string, id: string): Promise<EvidenceRecord | undefined> {
    return this.db.selectFrom("evidence_packs").selectAll().where("project", "=", project).where("id", "=", id).executeTakeFirst();
  }

  ofRollout(project: string, rolloutId: string, tx?: Tx): Promise<EvidenceRecord[]> {
    return queryOf(this.db, tx).selectFrom("evidence_packs").selectAll().where("project", "=", project).where("rollout_id", "=", rolloutId).orderBy("seq").execute();
  }
}
