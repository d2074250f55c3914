/**
 * The per-instance cache behind `resolve?subject=`: for each environment, its running or paused
 * rollout (or the fact that it has none). A hit is one Map lookup and the murmur3 hash; no
 * database query.
 *
 * Invalidation: every rollout step made through this instance calls `invalidate(project, env)`
 * (after the transaction, also when it failed: a commit whose acknowledgement was lost must not
 * leave a stale entry). Without a live change feed, steps made by OTHER instances are not seen,
 * so an entry is trusted only for `ttlMs` (default 1 s, like the resolve cache) and then re-read:
 * at most one query per environment per second, whatever the request rate.
 * Across instances the change feed (environments/propagation.ts) calls `invalidate` for every
 * announced change (each rollout step is an environment revision) and `setFeedLive`: while the
 * feed is live an entry is trusted until invalidated, never by the TTL; when it drops or comes
 * back, nothing read before is trusted (notifications may have been lost), but the values stay
 * for `lastKnown`.
 *
 * Races: a fill whose read started before an invalidation must not overwrite it. A fill takes
 * a ticket (logical clock) before reading; `invalidate` stamps the entry with a newer value and
 * older fills are dropped. Concurrent misses for one environment share one read (single
 * flight); an invalidation detaches that read so later callers start a fresh one.
 */

/** What assignment needs of a live rollout. */
export interface CachedRollout {
  id: string;
  stable: string;
  candidate: string;
  percent: number;
  allow: ReadonlySet<string>;
}

interface Entry {
  value?: CachedRollout | null;
  checkedAt: number;
  invalidatedAt: number;
  loading?: Promise<CachedRollout | null>;
}

export interface RolloutCacheOptions {
  ttlMs?: number;
  now?: () => number;
}

export class RolloutCache {
  private readonly entries = new Map<string, Entry>();
  private clock = 0;
  private allInvalidatedAt = 0;
  private feedLive = false;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: RolloutCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  /** The live rollout (null: none) when known and fresh; undefined means "read the database". */
  peek(project: string, env: string): CachedRollout | null | undefined {
    const entry = this.entries.get(key(project, env));
    if (!entry || entry.value === undefined || entry.checkedAt === Number.NEGATIVE_INFINITY) return undefined;
    if (!this.feedLive && this.now() - entry.checkedAt >= this.ttlMs) return undefined;
    return entry.value;
  }

  /** See the class comment: live → trust until invalidated; any change of the feed's state → re-read everything. */
  setFeedLive(live: boolean): void {
    this.allInvalidatedAt = ++this.clock;
    for (const entry of this.entries.values()) {
      entry.checkedAt = Number.NEGATIVE_INFINITY;
      delete entry.loading;
    }
    this.feedLive = live;
  }

  /**
   * What this instance last knew, however old (undefined once invalidated): for answering while
   * the database is unavailable, so a subject keeps its side through an outage.
   */
  lastKnown(project: string, env: string): CachedRollout | null | undefined {
    return this.entries.get(key(project, env))?.value;
  }

  /** The cached value, or the result of `load` (shared by concurrent callers) stored for later. */
  get(project: string, env: string, load: () => Promise<CachedRollout | null>): CachedRollout | null | Promise<CachedRollout | null> {
    const hit = this.peek(project, env);
    if (hit !== undefined) return hit;
    const k = key(project, env);
    let entry = this.entries.get(k);
    if (!entry) {
      entry = { checkedAt: 0, invalidatedAt: 0 };
      this.entries.set(k, entry);
    }
    if (entry.loading) return entry.loading;
    const ticket = ++this.clock;
    const owner = entry;
    const loading = load().then(
      (value) => {
        if (owner.loading === loading) delete owner.loading;
        if (owner.invalidatedAt < ticket && this.allInvalidatedAt < ticket) {
          owner.value = value;
          owner.checkedAt = this.now();
        }
        return value;
      },
      (err: unknown) => {
        if (owner.loading === loading) delete owner.loading;
        throw err;
      },
    );
    entry.loading = loading;
    return loading;
  }

  invalidate(project: string, env: string): void {
    const k = key(project, env);
    const stamp = ++this.clock;
    const entry = this.entries.get(k);
    if (entry) {
      delete entry.value;
      delete entry.loading;
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
