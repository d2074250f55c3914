import { ConflictError } from "../core/errors.js";
import type { MemoryTables } from "../core/memory-tables.js";
import type { Tx } from "../core/transaction.js";
import type { NewToken, TokenRecord, TokenRow, TokenStore } from "./ports.js";

interface TokenTable {
  seq: number;
  rows: Map<string, TokenRow>;
}

function record(row: TokenRow): TokenRecord {
  const { secret_hash: _hash, ...rest } = structuredClone(row);
  return rest;
}

/**
 * Tokens in memory, for service unit tests; kept honest by test/contract/token-store.ts. Row
 * locks and the revocation notification are not modelled (one transaction at a time; no
 * listeners): both are tested on the real databases.
 */
export class MemoryTokenStore implements TokenStore {
  constructor(private readonly tables: MemoryTables) {}

  private get table(): TokenTable {
    return this.tables.table<TokenTable>("tokens", () => ({ seq: 0, rows: new Map() }));
  }

  async findBySecretHash(secretHash: string): Promise<TokenRow | undefined> {
    const row = [...this.table.rows.values()].find((r) => r.secret_hash === secretHash);
    return row && structuredClone(row);
  }

  async findById(id: string): Promise<TokenRow | undefined> {
    const row = this.table.rows.get(id);
    return row && structuredClone(row);
  }

  async insert(_tx: Tx, token: NewToken): Promise<TokenRecord> {
    return record(this.add(token));
  }

  private add(token: NewToken): TokenRow {
    const table = this.table;
    if (table.rows.has(token.id) || [...table.rows.values()].some((r) => r.secret_hash === token.secretHash)) {
      throw new ConflictError(`Token ${token.id} (or its secret) exists already`);
    }
    const row: TokenRow = {
      seq: ++table.seq,
      id: token.id,
      name: token.name,
      secret_hash: token.secretHash,
      scopes: [...token.scopes],
      projects: [...token.projects],
      environments: token.environments && [...token.environments],
      expires_at: token.expiresAt,
      revoked_at: null,
      created_by: token.createdBy,
      created_at: new Date(),
    };
    table.rows.set(row.id, row);
    return row;
  }

  async list(options: { before?: number; limit: number }): Promise<TokenRecord[]> {
    return [...this.table.rows.values()]
      .filter((r) => options.before === undefined || r.seq < options.before)
      .sort((a, b) => b.seq - a.seq)
      .slice(0, options.limit)
      .map(record);
  }

  async unusable(ids: string[]): Promise<string[]> {
    const now = Date.now();
    return ids.filter((id) => {
      const row = this.table.rows.get(id);
      return row !== undefined && (row.revoked_at !== null || (row.expires_at !== null && row.expires_at.getTime() <= now));
    });
  }

  async findForUpdate(_tx: Tx, id: string): Promise<TokenRecord | undefined> {
    const row = this.table.rows.get(id);
    return row && record(row);
  }

  async revoke(_tx: Tx, id: string): Promise<TokenRecord> {
    const row = this.table.rows.get(id);
    if (!row) throw new Error(`no token ${id}`);
    row.revoked_at = new Date();
    return record(row);
  }

  async upsertSecret(token: NewToken): Promise<void> {
    const row = this.table.rows.get(token.id);
    if (!row) {
      this.add(token);
      return;
    }
    Object.assign(row, { secret_hash: token.secretHash, revoked_at: null, name: token.name });
  }

  async insertIfAbsent(token: NewToken): Promise<boolean> {
    if (this.table.rows.has(token.id)) return false;
    this.add(token);
    return true;
  }
}
