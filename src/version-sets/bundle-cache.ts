/**
 * A bounded least-recently-used map for bundles. Version sets are immutable, so an entry only
 * goes stale when garbage collection retires a version a set pins (then `clear`); the bound
 * caps memory. A Map keeps insertion
 * order, so re-inserting on every hit makes its first key the least recently used one.
 *
 * `getOrLoad` also shares one in-flight load per key: a burst of resolves for a set that is not
 * cached yet builds its bundle once. A failed load is not cached.
 */
export class LruCache<V> {
  private readonly entries = new Map<string, V>();
  private readonly loading = new Map<string, Promise<V>>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error("LruCache capacity must be a positive integer");
  }

  get size(): number {
    return this.entries.size;
  }

  /** The most recently used key: a hit on it need not move it (the hot resolve asks for the same bundle again and again). */
  private newest: string | undefined;

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    if (key !== this.newest) {
      this.entries.delete(key);
      this.entries.set(key, value);
      this.newest = key;
    }
    return value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    this.newest = key;
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  clear(): void {
    this.entries.clear();
    this.newest = undefined;
  }

  async getOrLoad(key: string, load: () => Promise<V>): Promise<V> {
    const cached = this.get(key);
    if (cached !== undefined) return cached;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = load().then(
        (value) => {
          this.loading.delete(key);
          this.set(key, value);
          return value;
        },
        (err: unknown) => {
          this.loading.delete(key);
          throw err;
        },
      );
      this.loading.set(key, pending);
    }
    return pending;
  }
}
