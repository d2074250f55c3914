import type { Tx } from "../core/transaction.js";

/** Everything about a token except its secret hash: what lists and audit rows may show. */
export interface TokenRecord {
  seq: number;
  id: string;
  name: string;
  scopes: string[];
  projects: string[];
  environments: string[] | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  created_by: string | null;
  created_at: Date;
}

/** A token with the sha256 of its secret: only the resolver reads this. */
export interface TokenRow extends TokenRecord {
  secret_hash: string;
}

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

/** The tokens table. The secret hash is read only by `findBySecretHash` and `findById`. */
export interface TokenStore {
  findBySecretHash(secretHash: string): Promise<TokenRow | undefined>;
  findById(id: string): Promise<TokenRow | undefined>;
  /** ConflictError when the id or the secret hash is taken. */
  insert(tx: Tx, token: NewToken): Promise<TokenRecord>;
  /** Newest first; `before` is a `seq` (the cursor). */
  list(options: { before?: number; limit: number }): Promise<TokenRecord[]>;
  /** Of `ids`, those revoked or expired now (by the database's clock). */
  unusable(ids: string[]): Promise<string[]>;
  /** Locks the row so a concurrent revoke of the same token waits and then sees it revoked. */
  findForUpdate(tx: Tx, id: string): Promise<TokenRecord | undefined>;
  /** Marks the token revoked now; tells every instance listening at commit (TOKEN_REVOKED_CHANNEL). */
  revoke(tx: Tx, id: string): Promise<TokenRecord>;
  /**
   * Bootstrap: inserts the token, or (same id) replaces its secret hash and name and clears its
   * revocation, so a changed PINSET_ADMIN_TOKEN rotates it.
   */
  upsertSecret(token: NewToken): Promise<void>;
  /** Bootstrap: inserts the token unless one with its id exists; whether it was inserted. */
  insertIfAbsent(token: NewToken): Promise<boolean>;
}

/**
 * Sent (at commit) when a token is revoked. Every instance's resolver caches lookups for at
 * most a second, which bounds how long a revoked token keeps working anywhere; an instance
 * that listens on this channel can drop its cache at once.
 */
export const TOKEN_REVOKED_CHANNEL = "pinset_token_revoked";
