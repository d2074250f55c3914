/**
 * The per-instance cache behind `resolve`: for each environment, which set is active (and at
 * which revision), plus the serialized bundle of that set, kept as the ready answer (bytes and
 * etag). A hit is one Map lookup: no database query and no JSON work.
 *
 * Trust: while the change feed is live (`setFeedLive(true)`, see change-feed.ts) an entry is
 * trusted until a notification invalidates it — never by a TTL. Without a feed (none
 * configured, or its connection is down) an entry is trusted for `ttlMs` (default 1 s) after it
 * was read and then re-read: that bounds how long a change made by another instance goes unseen
 * when nobody can announce it. Losing the feed ends the trust in entries read while it was live;
 * going live drops every entry (`invalidateAll`): notifications sent while the feed was down are
 * lost, so whatever was read then must be read again.
 *
 * Invalidation never drops the last bundle: `lastKnown` keeps what this instance last served
 * for an environment, for answering while the database is unavailable (API.md "When the
 * database is down").
 *
 * Races: a fill that read the database before a change committed must not overwrite the
 * invalidation that change made. Every fill takes a ticket (a logical clock value) before its
 * read; `invalidate` stamps the entry (and `invalidateAll` the whole cache) with a newer clock
 * value, and a fill whose ticket is older than the stamp is dropped.
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

interface Entry {
  state?: ActiveState;
  checkedAt: number;
  invalidatedAt: number;
  bundle?: CachedBundle;
}

export interface ResolveCacheOptions {
  /** How long an active-set mapping is trusted while no change feed is live; see the class comment. */
  ttlMs?: number;
  now?: () => number;
}

export function cachedBundle(versionSet: string, json: string): CachedBundle {
  return { versionSet, etag: `"${versionSet}"`, body: Buffer.from(json, "utf8"), stale: false };
}

export class ResolveCache {
  private readonly entries = new Map<string, Entry>();
  private clock = 0;
  private allInvalidatedAt = 0;
  private feedLive = false;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: ResolveCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Live: trust entries until invalidated. Going live first drops everything read before. Going
   * down ends the trust in everything read while live (the next resolve asks the database, which
   * may be down too: then the answer is the last bundle, marked stale).
   */
  setFeedLive(live: boolean): void {
    if (live) {
      this.invalidateAll();
    } else if (this.feedLive) {
      for (const entry of this.entries.values()) entry.checkedAt = Number.NEGATIVE_INFINITY;
    }
    this.feedLive = live;
  }

  /** The hot path: the ready answer when the mapping is trusted and its bundle is held. */
  hot(project: string, env: string): CachedBundle | undefined {
    const entry = this.entries.get(key(project, env));
    if (!entry?.state || !entry.bundle || entry.bundle.versionSet !== entry.state.active) return undefined;
    return this.trusted(entry) ? entry.bundle : undefined;
  }

  /** The active set when known and trusted; undefined means "read the database". */
  active(project: string, env: string): ActiveState | undefined {
    const entry = this.entries.get(key(project, env));
    if (!entry?.state || !this.trusted(entry)) return undefined;
    return entry.state;
  }

  /** Take before reading the database; pass to `storeActive`. */
  ticket(): number {
    return ++this.clock;
  }

  storeActive(project: string, env: string, ticket: number, state: ActiveState): void {
    if (ticket < this.allInvalidatedAt) return;
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

  /** The ready answer for `versionSet` when this environment last served it. */
  bundle(project: string, env: string, versionSet: string): CachedBundle | undefined {
    const held = this.entries.get(key(project, env))?.bundle;
    return held?.versionSet === versionSet ? held : undefined;
  }

  /** Only kept for an environment the cache already knows (bounded by real environments). */
  storeBundle(project: string, env: string, bundle: CachedBundle): void {
    const entry = this.entries.get(key(project, env));
    if (entry) entry.bundle = bundle;
  }

  /** The last bundle served for this environment, whatever its freshness. */
  lastKnown(project: string, env: string): CachedBundle | undefined {
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

  /** Forgets every mapping (bundles stay, for outages); fills that started before are dropped. */
  invalidateAll(): void {
    this.allInvalidatedAt = ++this.clock;
    for (const entry of this.entries.values()) delete entry.state;
  }

  private trusted(entry: Entry): boolean {
    return this.feedLive || this.now() - entry.checkedAt < this.ttlMs;
  }
}

function key(project: string, env: string): string {
  // Names cannot contain "/" (NAME_PATTERN), so the key is unambiguous.
  return `${project}/${env}`;
}
