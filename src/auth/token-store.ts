import { sql, type Kysely } from "kysely";
import type { Database, TokensTable } from "../db/schema.js";
import type { Selectable } from "kysely";

export type TokenRow = Selectable<TokensTable>;

/** Everything about a token except its secret hash: what lists and audit rows may show. */
export type TokenRecord = Omit<TokenRow, "secret_hash">;

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

export interface NewToken {
  id: string;
  name: string;
  secretHash: string;
  scopes: string[];
  projects: string[];
  environments: string[] | null;
  expiresAt: Date | null;
  createdBy: string;
}

export class TokenStore {
  constructor(private readonly db: Kysely<Database>) {}

  findBySecretHash(secretHash: string): Promise<TokenRow | undefined> {
    return this.db.selectFrom("tokens").selectAll().where("secret_hash", "=", secretHash).executeTakeFirst();
  }

  findById(id: string): Promise<TokenRow | undefined> {
    return this.db.selectFrom("tokens").selectAll().where("id", "=", id).executeTakeFirst();
  }

  async insert(db: Kysely<Database>, token: NewToken): Promise<TokenRecord> {
    return db
      .insertInto("tokens")
      .values({
        id: token.id,
        name: token.name,
        secret_hash: token.secretHash,
        scopes: token.scopes,
        projects: token.projects,
        environments: token.environments,
        expires_at: token.expiresAt,
        created_by: token.createdBy,
      })
      .returning(PUBLIC_COLUMNS)
      .executeTakeFirstOrThrow();
  }

  /** Newest first; `before` is a `seq` (the cursor). Never selects the hash. */
  list(options: { before?: number; limit: number }): Promise<TokenRecord[]> {
    let q = this.db.selectFrom("tokens").select(PUBLIC_COLUMNS).orderBy("seq", "desc").limit(options.limit);
    if (options.before !== undefined) q = q.where("seq", "<", options.before);
    return q.execute();
  }

  /** Of `ids`, those revoked or expired now (by the database's clock). */
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

  /** Locks the row so a concurrent revoke of the same token waits and then sees it revoked. */
  findForUpdate(db: Kysely<Database>, id: string): Promise<TokenRecord | undefined> {
    return db.selectFrom("tokens").select(PUBLIC_COLUMNS).where("id", "=", id).forUpdate().executeTakeFirst();
  }

  async revoke(db: Kysely<Database>, id: string): Promise<TokenRecord> {
    return db
      .updateTable("tokens")
      .set({ revoked_at: sql<Date>`clock_timestamp()` })
      .where("id", "=", id)
      .returning(PUBLIC_COLUMNS)
      .executeTakeFirstOrThrow();
  }
}
