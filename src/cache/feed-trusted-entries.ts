/**
 * The invalidation machinery shared by the per-instance caches that the change feed keeps
 * honest (environments/resolve-cache.ts, rollouts/rollout-cache.ts): one entry per environment,
 * keyed `project/env`, holding whatever values the cache keeps (`V`'s fields, all optional)
 * beside two stamps. It decides when an entry may be answered and when a fill may be stored;
 * what the values are, and which of them outlive an invalidation, is the cache's business.
 *
 * Trust: while the change feed is live (`setFeedLive(true)`) an entry is trusted from its fill
 * until an invalidation, never by a TTL. Without a feed (none configured, or its connection is
 * down) it is trusted for `ttlMs` (default 1 s) after its fill and then re-read: that bounds
 * how long a change made by another instance goes unseen when nobody can announce it.
 *
 * Tickets and stamps: one logical clock hands out a ticket to every fill before it reads the
 * database, and a stamp to every invalidation. A fill is stored only if its ticket is newer
 * than both the entry's `invalidatedAt` and the cache's `allInvalidatedAt`: a read that began
 * before a change was announced never overwrites the invalidation that announcement made.
 *
 * Invalidation ends trust (`checkedAt = UNCHECKED`, which no feed state or clock makes trusted
 * again: only a newer fill does) but removes no value: `lastKnown` answers during an outage
 * come from what stays. `invalidate` returns the entry so the cache can clear the values that
 * must not outlive it.
 *
 * Feed changes: every `setFeedLive` call, either way, is a whole-cache invalidation. Going
 * live: notifications sent while the feed was down are lost, so nothing read before may be
 * trusted until invalidated. Going down: what was read while live was trusted only because the
 * feed would have announced a change, and a fill in flight across the drop may have missed that
 * announcement, so it is dropped rather than trusted for a TTL.
 */

/** The two stamps every entry carries; see the module comment. */
export interface Stamps {
  /** When the entry's values were last filled (the `now` option's clock), or UNCHECKED. */
  checkedAt: number;
  /** The clock value of the last invalidation of this entry (0: never). */
  invalidatedAt: number;
}

/** An entry: the stamps and the cache's own values, each present or not. */
export type StampedEntry<V extends object> = Stamps & Partial<V>;

/** `checkedAt` of an entry never filled, or invalidated since its last fill. */
export const UNCHECKED = Number.NEGATIVE_INFINITY;

export interface FeedTrustedEntriesOptions {
  /** How long an entry is trusted after its fill while no change feed is live. */
  ttlMs?: number;
  now?: () => number;
}

export class FeedTrustedEntries<V extends object> {
  private readonly entries = new Map<string, StampedEntry<V>>();
  private clock = 0;
  private allInvalidatedAt = 0;
  private feedLive = false;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: FeedTrustedEntriesOptions = {}) {
    this.ttlMs = options.ttlMs ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  /** The hot path: one Map lookup, no allocation beyond the key. Trusted or not: ask `trusted`. */
  get(project: string, env: string): StampedEntry<V> | undefined {
    return this.entries.get(key(project, env));
  }

  /** The entry, created (empty, untrusted) when this environment has none yet. */
  ensure(project: string, env: string): StampedEntry<V> {
    const k = key(project, env);
    let entry = this.entries.get(k);
    if (!entry) {
      entry = blank<V>();
      this.entries.set(k, entry);
    }
    return entry;
  }

  /** Whether the entry's values may be answered without reading the database. */
  trusted(entry: Stamps): boolean {
    return this.feedLive ? entry.checkedAt !== UNCHECKED : this.now() - entry.checkedAt < this.ttlMs;
  }

  /** Take before reading the database; pass to `fill` (or `current`). */
  ticket(): number {
    return ++this.clock;
  }

  /** Whether a fill holding `ticket` could still be stored into `entry`: no invalidation since. */
  current(entry: Stamps, ticket: number): boolean {
    return ticket > entry.invalidatedAt && ticket > this.allInvalidatedAt;
  }

  /**
   * The entry a fill holding `ticket` writes its values into, marked checked now (created when
   * absent); undefined when an invalidation came after the ticket, and the read must be dropped.
   */
  fill(project: string, env: string, ticket: number): StampedEntry<V> | undefined {
    if (ticket <= this.allInvalidatedAt) return undefined;
    const entry = this.ensure(project, env);
    if (!this.current(entry, ticket)) return undefined;
    entry.checkedAt = this.now();
    return entry;
  }

  /** Ends the trust in one entry and outdates every ticket taken before; returns the entry. */
  invalidate(project: string, env: string): StampedEntry<V> {
    const entry = this.ensure(project, env);
    entry.invalidatedAt = ++this.clock;
    entry.checkedAt = UNCHECKED;
    return entry;
  }

  /** Ends the trust in every entry and outdates every ticket taken before; values stay. */
  invalidateAll(): void {
    this.allInvalidatedAt = ++this.clock;
    for (const entry of this.entries.values()) entry.checkedAt = UNCHECKED;
  }

  /** Live: trust until invalidated; down: by TTL. Either way a whole-cache invalidation first. */
  setFeedLive(live: boolean): void {
    this.invalidateAll();
    this.feedLive = live;
  }
}

function blank<V extends object>(): StampedEntry<V> {
  const none: Partial<V> = {};
  return Object.assign(none, { checkedAt: UNCHECKED, invalidatedAt: 0 });
}

function key(project: string, env: string): string {
  // Names cannot contain "/" (NAME_PATTERN), so the key is unambiguous.
  return `${project}/${env}`;
}
