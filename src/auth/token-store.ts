import { sql, type Kysely } from "kysely";
import { ConflictError } from "../core/errors.js";
import type { Tx } from "../core/transaction.js";
import { isUniqueViolation } from "../db/errors.js";
import type { Database } from "../db/schema.js";
import { queryOf } from "../db/transactions.js";
import { TOKEN_REVOKED_CHANNEL, type NewToken, type TokenRecord, type TokenRow, type TokenStore } from "./ports.js";

const PUBLIC_COLUMNS = [
  "seq",
  "id",
  "name",
  "scopes",
  "projects",
  "environments",
  "expires_at",
  "revoked_at",
  "created_by",
  "created_at",
] as const;

function values(token: NewToken) {
  return {
    id: token.id,
    name: token.name,
    secret_hash: token.secretHash,
    scopes: token.scopes,
    projects: token.projects,
    environments: token.environments,
    expires_at: token.expiresAt,
    created_by: token.createdBy,
  };
}

export class KyselyTokenStore implements TokenStore {
  constructor(private readonly db: Kysely<Database>) {}

  findBySecretHash(secretHash: string): Promise<TokenRow | undefined> {
    return this.db.selectFrom("tokens").selectAll().where("secret_hash", "=", secretHash).executeTakeFirst();
  }

  findById(id: string): Promise<TokenRow | undefined> {
    return this.db.selectFrom("tokens").selectAll().where("id", "=", id).executeTakeFirst();
  }

  async insert(tx: Tx, token: NewToken): Promise<TokenRecord> {
    try {
      return await queryOf(this.db, tx).insertInto("tokens").values(values(token)).returning(PUBLIC_COLUMNS).executeTakeFirstOrThrow();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`Token ${token.id} (or its secret) exists already`);
      throw err;
    }
  }

  /** Never selects the hash. */
  list(options: { before?: number; limit: number }): Promise<TokenRecord[]> {
    let q = this.db.selectFrom("tokens").select(PUBLIC_COLUMNS).orderBy("seq", "desc").limit(options.limit);
    if (options.before !== undefined) q = q.where("seq", "<", options.before);
    return q.execute();
  }

  async unusable(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom("tokens")
      .select("id")
      .where("id", "in", ids)
      .where((eb) => eb.or([eb("revoked_at", "is not", null), eb("expires_at", "<=", sql<Date>`now()`)]))
      .execute();
    return rows.map((r) => r.id);
  }

  findForUpdate(tx: Tx, id: string): Promise<TokenRecord | undefined> {
    return queryOf(this.db, tx).selectFrom("tokens").select(PUBLIC_COLUMNS).where("id", "=", id).forUpdate().executeTakeFirst();
  }

  /** The notification is delivered at commit, so no instance drops its cache for a revoke that rolled back. */
  async revoke(tx: Tx, id: string): Promise<TokenRecord> {
    const trx = queryOf(this.db, tx);
    const row = await trx
      .updateTable("tokens")
      .set({ revoked_at: sql<Date>`clock_timestamp()` })
      .where("id", "=", id)
      .returning(PUBLIC_COLUMNS)
      .executeTakeFirstOrThrow();
    await sql`select pg_notify(${TOKEN_REVOKED_CHANNEL}, ${id})`.execute(trx);
    return row;
  }

  async upsertSecret(token: NewToken): Promise<void> {
    await this.db
      .insertInto("tokens")
      .values(values(token))
      .onConflict((oc) => oc.column("id").doUpdateSet({ secret_hash: token.secretHash, revoked_at: null, name: token.name }))
      .execute();
  }

  async insertIfAbsent(token: NewToken): Promise<boolean> {
    const inserted = await this.db.insertInto("tokens").values(values(token)).onConflict((oc) => oc.column("id").doNothing()).returning("id").executeTakeFirst();
    return inserted !== undefined;
  }
}
