/**
 * The per-instance cache behind `resolve`: for each environment, which set is active (and at
 * which revision), plus the serialized bundle of that set. A hit is one Map lookup and no
 * database query.
 *
 * Invalidation: every change made through this instance calls `invalidate(project, env)` after
 * its transaction commits. Changes made by OTHER instances are not seen yet, so the active-set
 * mapping is only trusted for `ttlMs` (default 1 s) and then re-read from the database.
 * TEMPORARY — for the engineer adding cross-instance propagation: LISTEN on
 * ENVIRONMENT_CHANNEL (src/environments/change.ts; the payload names project and environment)
 * and call `invalidate` for each notification; then the TTL can become long (or infinite, with
 * a re-read after a reconnect of the listener, since notifications sent while disconnected are
 * lost).
 *
 * Invalidation never drops the last bundle: `lastKnown` keeps what this instance last served
 * for an environment, for answering while the database is unavailable (API.md "When the
 * database is down").
 *
 * Races: a fill that read the database before a change committed must not overwrite the
 * invalidation that change made. Every fill takes a ticket (a logical clock value) before its
 * read; `invalidate` stamps the entry with a newer clock value, and a fill whose ticket is older
 * than the stamp is dropped.
 */
export interface ActiveState {
  active: string | null;
  revision: number;
}

interface Entry {
  state?: ActiveState;
  checkedAt: number;
  invalidatedAt: number;
  bundle?: { versionSet: string; json: string };
}

export interface ResolveCacheOptions {
  /** How long an active-set mapping is trusted without a re-read; see the class comment. */
  ttlMs?: number;
  now?: () => number;
}

export class ResolveCache {
  private readonly entries = new Map<string, Entry>();
  private clock = 0;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: ResolveCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  /** The active set when known and fresh; undefined means "read the database". */
  active(project: string, env: string): ActiveState | undefined {
    const entry = this.entries.get(key(project, env));
    if (!entry?.state || this.now() - entry.checkedAt >= this.ttlMs) return undefined;
    return entry.state;
  }

  /** Take before reading the database; pass to `storeActive`. */
  ticket(): number {
    return ++this.clock;
  }

  storeActive(project: string, env: string, ticket: number, state: ActiveState): void {
    const k = key(project, env);
    const entry = this.entries.get(k);
    if (entry && entry.invalidatedAt > ticket) return;
    if (entry) {
      entry.state = state;
      entry.checkedAt = this.now();
    } else {
      this.entries.set(k, { state, checkedAt: this.now(), invalidatedAt: 0 });
    }
  }

  /** The serialized bundle of `versionSet` when this environment last served it. */
  bundle(project: string, env: string, versionSet: string): string | undefined {
    const held = this.entries.get(key(project, env))?.bundle;
    return held?.versionSet === versionSet ? held.json : undefined;
  }

  /** Only kept for an environment the cache already knows (bounded by real environments). */
  storeBundle(project: string, env: string, versionSet: string, json: string): void {
    const entry = this.entries.get(key(project, env));
    if (entry) entry.bundle = { versionSet, json };
  }

  /** The last bundle served for this environment, whatever its freshness. */
  lastKnown(project: string, env: string): { versionSet: string; json: string } | undefined {
    return this.entries.get(key(project, env))?.bundle;
  }

  invalidate(project: string, env: string): void {
    const k = key(project, env);
    const stamp = ++this.clock;
    const entry = this.entries.get(k);
    if (entry) {
      delete entry.state;
      entry.invalidatedAt = stamp;
    } else {
      this.entries.set(k, { checkedAt: 0, invalidatedAt: stamp });
    }
  }
}

function key(project: string, env: string): string {
  // Names cannot contain "/" (NAME_PATTERN), so the key is unambiguous.
  return `${project}/${env}`;
}
