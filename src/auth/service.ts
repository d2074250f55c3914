import { randomBytes } from "node:crypto";
import { sql, type Kysely } from "kysely";
import { recordAudit } from "../audit/store.js";
import type { Database } from "../db/schema.js";
import { ConflictError, NotFoundError, UnprocessableError, type FieldError } from "../core/errors.js";
import type { Actor } from "../core/actor.js";
import { decodeCursor, toPage, type Page } from "../core/page.js";
import { BOOTSTRAP_TOKEN_ID } from "./bootstrap-admin.js";
import type { Scope } from "../core/principal.js";
import { generateTokenSecret, hashTokenSecret } from "./secrets.js";
import type { TokenResolver } from "./token-resolver.js";
import { TokenStore, type TokenRecord } from "./token-store.js";

/**
 * Sent (at commit) when a token is revoked. Every instance's resolver caches lookups for at
 * most a second, which bounds how long a revoked token keeps working anywhere; an instance
 * that listens on this channel can drop its cache at once.
 */
export const TOKEN_REVOKED_CHANNEL = "pinset_token_revoked";

export interface TokenView {
  id: string;
  name: string;
  scopes: string[];
  projects: string[];
  environments: string[] | null;
  expires_at: string | null;
  created_at: string;
  created_by: string | null;
  revoked_at: string | null;
}

export interface CreateTokenInput {
  name: string;
  scopes: Scope[];
  projects: string[];
  environments?: string[];
  expiresAt?: Date;
}

function present(row: TokenRecord): TokenView {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    projects: row.projects,
    environments: row.environments,
    expires_at: row.expires_at ? row.expires_at.toISOString() : null,
    created_at: row.created_at.toISOString(),
    created_by: row.created_by,
    revoked_at: row.revoked_at ? row.revoked_at.toISOString() : null,
  };
}

/** What an audit row may say about a token: everything a list shows, never the secret or its hash. */
function auditView(view: TokenView) {
  const { id, name, scopes, projects, environments, expires_at, revoked_at } = view;
  return { id, name, scopes, projects, environments, expires_at, revoked_at };
}

export class TokenService {
  private readonly store: TokenStore;

  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      resolver: Pick<TokenResolver, "invalidate">;
      /** After the commit: the token's open watch streams on this instance end (others hear it on the change feed). */
      onRevoked?: (tokenId: string) => void;
      now?: () => number;
    },
  ) {
    this.store = new TokenStore(deps.db);
  }

  /**
   * Creates a token and returns its secret — the only time anyone sees it; the table keeps
   * its sha256. Meaning-level rules (the syntax was checked by the route) answer 422.
   */
  async create(actor: Actor, input: CreateTokenInput): Promise<TokenView & { token: string }> {
    const errors = this.semanticErrors(input);
    if (errors.length > 0) throw new UnprocessableError("The token cannot be created as asked", errors);
    const secret = generateTokenSecret();
    const row = await this.deps.db.transaction().execute(async (trx) => {
      const inserted = await this.store.insert(trx, {
        id: `tok_${randomBytes(12).toString("hex")}`,
        name: input.name,
        secretHash: hashTokenSecret(secret),
        scopes: input.scopes,
        projects: input.projects,
        environments: input.environments ?? null,
        expiresAt: input.expiresAt ?? null,
        createdBy: actor.name,
      });
      await recordAudit(trx, actor, { project: null, action: "token.create", target: `token/${inserted.id}`, after: auditView(present(inserted)) });
      return inserted;
    });
    return { ...present(row), token: secret };
  }

  private semanticErrors(input: CreateTokenInput): FieldError[] {
    const errors: FieldError[] = [];
    const now = (this.deps.now ?? Date.now)();
    if (input.expiresAt && input.expiresAt.getTime() <= now) {
      errors.push({ path: "body.expires_at", message: "must be in the future" });
    }
    // `admin` manages tokens, so an admin limited to some projects could mint itself a
    // token for every project: admin is all-projects (and all-environments) or nothing.
    if (input.scopes.includes("admin")) {
      if (!(input.projects.length === 1 && input.projects[0] === "*")) {
        errors.push({ path: "body.projects", message: 'an admin token covers every project: use ["*"]' });
      }
      if (input.environments) {
        errors.push({ path: "body.environments", message: "an admin token covers every environment: leave environments out" });
      }
    }
    return errors;
  }

  async list(page: { limit: number; cursor?: string }): Promise<Page<TokenView>> {
    const rows = await this.store.list({ before: decodeCursor(page.cursor), limit: page.limit + 1 });
    return toPage(rows, page.limit, (r) => r.seq, present);
  }

  /**
   * Revokes a token: refused from the next request on this instance (the local cache is
   * dropped after commit) and within the resolver TTL (1 s) on every other one. Revoking a
   * token that is already revoked changes nothing and writes no audit row.
   */
  async revoke(actor: Actor, id: string): Promise<TokenView> {
    if (id === BOOTSTRAP_TOKEN_ID) {
      throw new ConflictError(
        "The bootstrap admin token cannot be revoked: it is re-established from PINSET_ADMIN_TOKEN at every start. Rotate it by restarting with a new PINSET_ADMIN_TOKEN",
      );
    }
    const row = await this.deps.db.transaction().execute(async (trx) => {
      const current = await this.store.findForUpdate(trx, id);
      if (!current) throw new NotFoundError(`Token ${id} not found`);
      if (current.revoked_at) return current;
      const revoked = await this.store.revoke(trx, id);
      await recordAudit(trx, actor, {
        project: null,
        action: "token.revoke",
        target: `token/${id}`,
        before: auditView(present(current)),
        after: auditView(present(revoked)),
      });
      await sql`select pg_notify(${TOKEN_REVOKED_CHANNEL}, ${id})`.execute(trx);
      return revoked;
    });
    this.deps.resolver.invalidate();
    this.deps.onRevoked?.(id);
    return present(row);
  }
}
