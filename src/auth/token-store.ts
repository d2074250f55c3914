import type { Kysely } from "kysely";
import type { Database, TokensTable } from "../db/schema.js";
import type { Selectable } from "kysely";

export type TokenRow = Selectable<TokensTable>;

export class TokenStore {
  constructor(private readonly db: Kysely<Database>) {}

  findBySecretHash(secretHash: string): Promise<TokenRow | undefined> {
    return this.db.selectFrom("tokens").selectAll().where("secret_hash", "=", secretHash).executeTakeFirst();
  }

  findById(id: string): Promise<TokenRow | undefined> {
    return this.db.selectFrom("tokens").selectAll().where("id", "=", id).executeTakeFirst();
  }
}
