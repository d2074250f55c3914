import { withDatabaseBudget } from "../db/budgets.js";
import { isDatabaseUnavailable } from "../db/errors.js";
import type { Principal, Scope } from "../core/principal.js";
import { hashesEqual, hashTokenSecret } from "./secrets.js";
import type { TokenRow, TokenStore } from "./ports.js";

/**
 * Bearer secret → Principal, with a short cache so a busy runtime does not hit the database
 * on every resolve. The TTL bounds how long a revoked token keeps working on any instance;
 * `invalidate()` makes it immediate on this one.
 */
export class TokenResolver {
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();

  constructor(
    private readonly store: Pick<TokenStore, "findBySecretHash">,
    /** `staleAfterMs`: how long the database may take to re-check a token this instance knows before its cached answer is used. */
    private readonly options: { ttlMs?: number; maxEntries?: number; now?: () => number; staleAfterMs?: number } = {},
  ) {}

  /**
   * The cache's answer alone, synchronously (the request path of nearly every request): the
   * principal, null for a token known to be bad, undefined when only `resolve` can tell.
   */
  peek(secret: string): Principal | null | undefined {
    const now = (this.options.now ?? Date.now)();
    const cached = this.cache.get(hashTokenSecret(secret));
    if (!cached || cached.until <= now) return undefined;
    return cached.principal && stillValid(cached.principal, now) ? cached.principal : null;
  }

  async resolve(secret: string): Promise<Principal | null> {
    const now = (this.options.now ?? Date.now)();
    const hash = hashTokenSecret(secret);
    const cached = this.cache.get(hash);
    if (cached && cached.until > now) return cached.principal && stillValid(cached.principal, now) ? cached.principal : null;
    let row: TokenRow | undefined;
    try {
      // A token known here has an answer already: the database gets staleAfterMs, not the read budget.
      row = await withDatabaseBudget(cached ? this.options.staleAfterMs : undefined, () => this.store.findBySecretHash(hash));
    } catch (err) {
      // Database down: a token this instance knew keeps working (resolve and watch serve stale
      // answers then, API.md "When the database is down"); a revocation seen before still holds,
      // since revoking drops the cache on every instance that hears of it.
      if (cached && isDatabaseUnavailable(err)) return cached.principal && stillValid(cached.principal, now) ? cached.principal : null;
      throw err;
    }
    const principal = row && hashesEqual(row.secret_hash, hash) && isUsable(row, now) ? toPrincipal(row) : null;
    if (this.cache.size >= (this.options.maxEntries ?? 10_000)) this.cache.clear();
    this.cache.set(hash, { principal, until: now + (this.options.ttlMs ?? 1000) });
    return principal;
  }

  invalidate(): void {
    this.cache.clear();
  }
}

const expiries = new WeakMap<Principal, number>();

/** When the principal's token expires (epoch ms); undefined for a token without expiry. */
export function expiryOf(principal: Principal): number | undefined {
  return expiries.get(principal);
}

function stillValid(principal: Principal, now: number): boolean {
  const expiresAt = expiries.get(principal);
  return expiresAt === undefined || expiresAt > now;
}

function isUsable(row: TokenRow, now: number): boolean {
  if (row.revoked_at) return false;
  return !row.expires_at || row.expires_at.getTime() > now;
}

export function toPrincipal(row: TokenRow): Principal {
  const principal: Principal = {
    tokenId: row.id,
    name: row.name,
    scopes: new Set(row.scopes as Scope[]),
    projects: row.projects.includes("*") ? "*" : new Set(row.projects),
    ...(row.environments ? { environments: new Set(row.environments) } : {}),
  };
  if (row.expires_at) expiries.set(principal, row.expires_at.getTime());
  return principal;
}
