import { randomBytes } from "node:crypto";
import type { AuditRecorder } from "../audit/ports.js";
import { ConflictError, NotFoundError, UnprocessableError, type FieldError } from "../core/errors.js";
import type { Actor } from "../core/actor.js";
import { decodeCursor, toPage, type Page } from "../core/page.js";
import type { Transactions } from "../core/transaction.js";
import { BOOTSTRAP_TOKEN_ID } from "./bootstrap-admin.js";
import type { Scope } from "../core/principal.js";
import { generateTokenSecret, hashTokenSecret } from "./secrets.js";
import type { TokenResolver } from "./token-resolver.js";
import type { TokenRecord, TokenStore } from "./ports.js";

export { TOKEN_REVOKED_CHANNEL } from "./ports.js";

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

export interface TokenServiceDeps {
  store: TokenStore;
  audit: AuditRecorder;
  transactions: Transactions;
  resolver: Pick<TokenResolver, "invalidate">;
  /** After the commit: the token's open watch streams on this instance end (others hear it on the change feed). */
  onRevoked?: (tokenId: string) => void;
  now?: () => number;
}

export class TokenService {
  constructor(private readonly deps: TokenServiceDeps) {}

  /**
   * Creates a token and returns its secret — the only time anyone sees it; the table keeps
   * its sha256. Meaning-level rules (the syntax was checked by the route) answer 422.
   */
  async create(actor: Actor, input: CreateTokenInput): Promise<TokenView & { token: string }> {
    const errors = this.semanticErrors(input);
    if (errors.length > 0) throw new UnprocessableError("The token cannot be created as asked", errors);
    const secret = generateTokenSecret();
    const { store, audit } = this.deps;
    const row = await this.deps.transactions.run(async (tx) => {
      const inserted = await store.insert(tx, {
        id: `tok_${randomBytes(12).toString("hex")}`,
        name: input.name,
        secretHash: hashTokenSecret(secret),
        scopes: input.scopes,
        projects: input.projects,
        environments: input.environments ?? null,
        expiresAt: input.expiresAt ?? null,
        createdBy: actor.name,
      });
      await audit.record(tx, actor, { project: null, action: "token.create", target: `token/${inserted.id}`, after: auditView(present(inserted)) });
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
    const rows = await this.deps.store.list({ before: decodeCursor(page.cursor), limit: page.limit + 1 });
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
    const { store, audit } = this.deps;
    const row = await this.deps.transactions.run(async (tx) => {
      const current = await store.findForUpdate(tx, id);
      if (!current) throw new NotFoundError(`Token ${id} not found`);
      if (current.revoked_at) return current;
      const revoked = await store.revoke(tx, id);
      await audit.record(tx, actor, {
        project: null,
        action: "token.revoke",
        target: `token/${id}`,
        before: auditView(present(current)),
        after: auditView(present(revoked)),
      });
      return revoked;
    });
    this.deps.resolver.invalidate();
    this.deps.onRevoked?.(id);
    return present(row);
  }
}
