import { FeedTrustedEntries, type FeedTrustedEntriesOptions, type StampedEntry } from "../cache/feed-trusted-entries.js";

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
 * for `lastKnown`. Those trust rules, and the tickets that keep a fill whose read started
 * before an invalidation from overwriting it, are cache/feed-trusted-entries.ts.
 *
 * Concurrent misses for one environment share one read (single flight) while its ticket is
 * current; an invalidation outdates that read, so later callers start a fresh one.
 */

/** What assignment needs of a live rollout. */
export interface CachedRollout {
  id: string;
  stable: string;
  candidate: string;
  percent: number;
  allow: ReadonlySet<string>;
}

/** The entry's values; the stamps and trust rules are FeedTrustedEntries'. */
interface Held {
  /** Dropped on `invalidate`, kept through a change of the feed's state (for `lastKnown`). */
  value: CachedRollout | null;
  /** The read in flight, joined by concurrent misses while its ticket is still current. */
  loading: InFlight;
}

interface InFlight {
  promise: Promise<CachedRollout | null>;
  ticket: number;
}

/** `ttlMs`: how long an entry is trusted while no change feed is live. */
export type RolloutCacheOptions = FeedTrustedEntriesOptions;

export class RolloutCache {
  private readonly entries: FeedTrustedEntries<Held>;

  constructor(options: RolloutCacheOptions = {}) {
    this.entries = new FeedTrustedEntries(options);
  }

  /** The live rollout (null: none) when known and fresh; undefined means "read the database". */
  peek(project: string, env: string): CachedRollout | null | undefined {
    const entry = this.entries.get(project, env);
    return entry && this.answer(entry);
  }

  /** See the class comment: live → trust until invalidated; any change of the feed's state → re-read everything. */
  setFeedLive(live: boolean): void {
    this.entries.setFeedLive(live);
  }

  /**
   * What this instance last knew, however old (undefined once invalidated): for answering while
   * the database is unavailable, so a subject keeps its side through an outage.
   */
  lastKnown(project: string, env: string): CachedRollout | null | undefined {
    return this.entries.get(project, env)?.value;
  }

  /** The cached value, or the result of `load` (shared by concurrent callers) stored for later. */
  get(project: string, env: string, load: () => Promise<CachedRollout | null>): CachedRollout | null | Promise<CachedRollout | null> {
    const entry = this.entries.ensure(project, env);
    const hit = this.answer(entry);
    if (hit !== undefined) return hit;
    // A read that began before an invalidation (of this entry or of all) is not joined: its
    // answer may predate the change, and it will not be stored either.
    if (entry.loading && this.entries.current(entry, entry.loading.ticket)) return entry.loading.promise;
    const ticket = this.entries.ticket();
    const promise = load().then(
      (value) => {
        if (entry.loading?.promise === promise) delete entry.loading;
        const filled = this.entries.fill(project, env, ticket);
        if (filled) filled.value = value;
        return value;
      },
      (err: unknown) => {
        if (entry.loading?.promise === promise) delete entry.loading;
        throw err;
      },
    );
    entry.loading = { promise, ticket };
    return promise;
  }

  invalidate(project: string, env: string): void {
    delete this.entries.invalidate(project, env).value;
  }

  private answer(entry: StampedEntry<Held>): CachedRollout | null | undefined {
    if (entry.value === undefined || !this.entries.trusted(entry)) return undefined;
    return entry.value;
  }
}
