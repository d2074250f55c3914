import { FeedTrustedEntries, type FeedTrustedEntriesOptions } from "../cache/feed-trusted-entries.js";

/**
 * The per-instance cache behind `resolve`: for each environment, which set is active (and at
 * which revision), plus the serialized bundle of that set, kept as the ready answer (bytes and
 * etag). A hit is one Map lookup: no database query and no JSON work.
 *
 * When a mapping is trusted (change feed live: until invalidated; no feed: `ttlMs`, default
 * 1 s), and why a fill that read the database before a change committed is dropped (tickets
 * against invalidation stamps), is cache/feed-trusted-entries.ts. Every `setFeedLive` call ends
 * the trust in every mapping: notifications sent while the feed was down are lost, and what
 * was read while it was live was trusted only because it would have announced a change.
 *
 * Invalidation never drops the last bundle: `lastKnown` keeps what this instance last served
 * for an environment, for answering while the database is unavailable (API.md "When the
 * database is down").
 */
export interface ActiveState {
  active: string | null;
  revision: number;
}

/** A ready answer: what `resolve` sends for a set, built once per set and environment. */
export interface CachedBundle {
  readonly versionSet: string;
  /** The quoted entity tag, `"<id>"`. */
  readonly etag: string;
  readonly body: Buffer;
  readonly stale: false;
}

/** The entry's values; the stamps and trust rules are FeedTrustedEntries'. */
interface Held {
  /** Dropped on `invalidate`; only answered while trusted. */
  state: ActiveState;
  /** Kept through every invalidation: the last answer, for outages. */
  bundle: CachedBundle;
  /** The read of `state` in flight, joined by concurrent misses while its ticket is current. */
  reading: { ticket: number; promise: Promise<ActiveState | undefined> };
}

/** `ttlMs`: how long a mapping is trusted while no change feed is live. */
export type ResolveCacheOptions = FeedTrustedEntriesOptions;

export function cachedBundle(versionSet: string, json: string): CachedBundle {
  return { versionSet, etag: `"${versionSet}"`, body: Buffer.from(json, "utf8"), stale: false };
}

export class ResolveCache {
  private readonly entries: FeedTrustedEntries<Held>;

  constructor(options: ResolveCacheOptions = {}) {
    this.entries = new FeedTrustedEntries(options);
  }

  /**
   * Live: trust entries until invalidated. Either way nothing read before is trusted: going live,
   * notifications sent while down were lost; going down, the trust in what was read while live
   * ends (the next resolve asks the database, which may be down too: then the answer is the last
   * bundle, marked stale).
   */
  setFeedLive(live: boolean): void {
    this.entries.setFeedLive(live);
  }

  /** The hot path: the ready answer when the mapping is trusted and its bundle is held. */
  hot(project: string, env: string): CachedBundle | undefined {
    const entry = this.entries.get(project, env);
    if (!entry?.state || !entry.bundle || entry.bundle.versionSet !== entry.state.active) return undefined;
    return this.entries.trusted(entry) ? entry.bundle : undefined;
  }

  /** The active set when known and trusted; undefined means "read the database". */
  active(project: string, env: string): ActiveState | undefined {
    const entry = this.entries.get(project, env);
    if (!entry?.state || !this.entries.trusted(entry)) return undefined;
    return entry.state;
  }

  /** Take before reading the database; pass to `storeActive`. */
  ticket(): number {
    return this.entries.ticket();
  }

  /**
   * The active state read from the database by `read` and stored (undefined: no such
   * environment), one read for concurrent misses of an environment the cache knows: the burst
   * of resolves that follows every change (each watcher that saw it) costs one query, not one
   * each. A read that began before an invalidation is not joined: its answer may predate it.
   */
  readActive(project: string, env: string, read: () => Promise<ActiveState | undefined>): Promise<ActiveState | undefined> {
    const entry = this.entries.get(project, env);
    if (entry?.reading && this.entries.current(entry, entry.reading.ticket)) return entry.reading.promise;
    const ticket = this.ticket();
    const promise = read()
      .then((state) => {
        if (state) this.storeActive(project, env, ticket, state);
        return state;
      })
      .finally(() => {
        if (entry?.reading?.promise === promise) delete entry.reading;
      });
    // An environment not known yet gets no entry here (unknown names must not grow the cache).
    if (entry) entry.reading = { ticket, promise };
    return promise;
  }

  storeActive(project: string, env: string, ticket: number, state: ActiveState): void {
    const entry = this.entries.fill(project, env, ticket);
    if (entry) entry.state = state;
  }

  /** The ready answer for `versionSet` when this environment last served it. */
  bundle(project: string, env: string, versionSet: string): CachedBundle | undefined {
    const held = this.entries.get(project, env)?.bundle;
    return held?.versionSet === versionSet ? held : undefined;
  }

  /** Only kept for an environment the cache already knows (bounded by real environments). */
  storeBundle(project: string, env: string, bundle: CachedBundle): void {
    const entry = this.entries.get(project, env);
    if (entry) entry.bundle = bundle;
  }

  /** The last bundle served for this environment, whatever its freshness. */
  lastKnown(project: string, env: string): CachedBundle | undefined {
    return this.entries.get(project, env)?.bundle;
  }

  invalidate(project: string, env: string): void {
    delete this.entries.invalidate(project, env).state;
  }

  /** Forgets every mapping (bundles stay, for outages); fills that started before are dropped. */
  invalidateAll(): void {
    this.entries.invalidateAll();
  }
}
