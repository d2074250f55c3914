import { createBackoff, type Backoff } from "./backoff.js";
import { CACHE_FORMAT, readCacheFile, writeCacheFile, type CacheRecord } from "./cache-file.js";
import { environmentBase, isTransient, requestResolve, type Bundle, type Endpoint, type ResolveAnswer } from "./resolve-request.js";
import { ResolverStartError, type ChangeListener, type ErrorListener, type ResolverOptions, type ResolverSnapshot } from "./resolver-types.js";
import { watchOnce, type EnvironmentState } from "./watch-stream.js";

export * from "./resolver-types.js";

const DEFAULT_POLL_INTERVAL_MS = 5_000;
/** Watch failures in a row (no event received) before polling takes over for a while. */
const WATCH_FAILURES_BEFORE_POLLING = 3;
const POLL_AFTER_FAILING_WATCH_MS = 60_000;
/** A registry without `watch` may be upgraded: try the stream again this often. */
const POLL_AFTER_UNSUPPORTED_WATCH_MS = 5 * 60_000;

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

export class Resolver {
  /** Resolves with the first bundle (from the registry, else from `cacheFile`); see createResolver. */
  readonly ready: Promise<ResolverSnapshot>;
  private snap: ResolverSnapshot | undefined;
  private closed = false;
  private readonly abort = new AbortController();
  private readonly endpoint: Endpoint;
  private readonly backoff: Backoff;
  private readonly listeners = { change: new Set<ChangeListener>(), error: new Set<ErrorListener>() };
  private lastEventId: string | undefined;
  /** The open watch stream came with `x-pinset-stale: true` (the registry's database is away). */
  private streamStale = false;
  private loop: Promise<void> = Promise.resolve();
  private writes: Promise<void> = Promise.resolve();
  private warnedAboutCacheFile = false;

  constructor(private readonly options: ResolverOptions) {
    if (!/^https?:\/\//i.test(options.url)) throw new TypeError(`The registry URL must start with http:// or https:// (got "${options.url}")`);
    const fetchImpl = options.fetch ?? ((url: string, init: RequestInit) => globalThis.fetch(url, init));
    this.endpoint = {
      fetch: fetchImpl,
      base: environmentBase(options.url, options.project, options.environment),
      subject: options.subject,
      headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
      timeoutMs: options.requestTimeoutMs ?? 10_000,
    };
    this.backoff = createBackoff(options.retry);
    this.ready = this.start();
    // Awaiting `ready` is the caller's choice: an unobserved start failure must not crash the process.
    this.ready.catch(() => {});
  }

  /** The bundle, synchronously. Throws only before `ready` has resolved. */
  current(): Bundle {
    return this.snapshot().bundle;
  }

  snapshot(): ResolverSnapshot {
    if (!this.snap) throw new Error("The resolver has no bundle yet: await resolver.ready first");
    return this.snap;
  }

  get versionSet(): string | undefined {
    return this.snap?.versionSet;
  }

  get stale(): boolean {
    return this.snap?.stale ?? true;
  }

  /** `change`: a different version set is now current. `error`: a failure the resolver is riding out (never thrown). */
  on(event: "change", listener: ChangeListener): this;
  on(event: "error", listener: ErrorListener): this;
  on(event: "change" | "error", listener: ChangeListener | ErrorListener): this {
    (this.listeners[event] as Set<typeof listener>).add(listener);
    return this;
  }

  off(event: "change" | "error", listener: ChangeListener | ErrorListener): this {
    (this.listeners[event] as Set<typeof listener>).delete(listener);
    return this;
  }

  /** Stops watching and polling; resolves once no request is in flight and the last cache write is done. */
  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort(new Error("the resolver was closed"));
    await this.ready.catch(() => {});
    await this.loop;
    await this.writes;
  }

  private async start(): Promise<ResolverSnapshot> {
    const { cacheFile, project, environment } = this.options;
    const key = { project, environment, subject: this.options.subject ?? null };
    const cached = cacheFile ? await readCacheFile(cacheFile, key) : undefined;
    const fromCache = cached?.ok ? cached.record : undefined;
    try {
      const answer = await requestResolve(this.endpoint, { etag: fromCache?.etag, signal: this.abort.signal });
      if (answer.status === 304 && fromCache) this.snap = this.snapshotOf(fromCache, "registry", answer.stale);
      else await this.accept(answer);
    } catch (error) {
      if (this.closed) throw new ResolverStartError("The resolver was closed before its first bundle arrived");
      const why = `Cannot resolve ${project}/${environment}: ${error instanceof Error ? error.message : String(error)}`;
      // The registry answered "no" (bad token, unknown environment, nothing deployed): a cache file must not hide that.
      if (!isTransient(error)) throw new ResolverStartError(why, { cause: error });
      if (!fromCache) throw new ResolverStartError(`${why}; and there is nothing to start from: ${cached && !cached.ok ? cached.reason : "no cacheFile is configured"}`, { cause: error });
      this.snap = this.snapshotOf(fromCache, "cache-file", true);
      this.report(error, "starting from the cache file: the registry did not answer");
    }
    if (!this.snap) throw new ResolverStartError(`Cannot resolve ${project}/${environment}: the registry's answer was empty`);
    this.loop = this.run();
    return this.snap;
  }

  private snapshotOf(record: CacheRecord, source: ResolverSnapshot["source"], stale: boolean): ResolverSnapshot {
    return {
      bundle: deepFreeze(record.bundle as Bundle),
      versionSet: record.version_set,
      etag: record.etag,
      assignment: record.assignment,
      source,
      stale,
      receivedAt: new Date(record.saved_at),
    };
  }

  /** Takes a resolve answer: a different set is adopted, written to the cache file and announced. */
  private async accept(answer: ResolveAnswer): Promise<void> {
    const previous = this.snap;
    if (answer.status === 304) {
      if (previous) this.snap = { ...previous, stale: answer.stale, source: "registry", assignment: answer.assignment ?? previous.assignment };
      return;
    }
    if (previous && previous.versionSet === answer.versionSet) {
      this.snap = { ...previous, stale: answer.stale, source: "registry", assignment: answer.assignment, etag: answer.etag };
      return;
    }
    const next: ResolverSnapshot = {
      bundle: deepFreeze(answer.bundle),
      versionSet: answer.versionSet,
      etag: answer.etag,
      assignment: answer.assignment,
      source: "registry",
      stale: answer.stale,
      receivedAt: new Date(),
    };
    this.snap = next;
    if (this.options.cacheFile) await this.persist(this.options.cacheFile, next);
    if (previous) this.emitChange(next, previous);
  }

  private persist(file: string, snap: ResolverSnapshot): Promise<void> {
    const record: CacheRecord = {
      format: CACHE_FORMAT,
      project: this.options.project,
      environment: this.options.environment,
      subject: this.options.subject ?? null,
      version_set: snap.versionSet,
      etag: snap.etag,
      assignment: snap.assignment,
      saved_at: snap.receivedAt.toISOString(),
      bundle: snap.bundle,
    };
    // Chained so two quick changes cannot finish their renames out of order.
    this.writes = this.writes.then(() => writeCacheFile(file, record)).catch((error: unknown) => this.cacheWriteFailed(error, file));
    return this.writes;
  }

  /**
   * Reported like any ridden-out failure. With no error listener and no logger it would go
   * unseen, and a cache file that is never written fails only later, at a start without the
   * registry: so it is also a process warning (once per resolver).
   */
  private cacheWriteFailed(error: unknown, file: string): void {
    const context = `cannot write the cache file ${file}`;
    this.report(error, context);
    if (this.listeners.error.size > 0 || this.options.logger || this.warnedAboutCacheFile) return;
    this.warnedAboutCacheFile = true;
    const reason = error instanceof Error ? error.message : String(error);
    process.emitWarning(`pinset resolver ${this.options.project}/${this.options.environment}: ${context}: ${reason}`, { type: "PinsetResolverWarning" });
  }

  private emitChange(next: ResolverSnapshot, previous: ResolverSnapshot): void {
    for (const listener of [...this.listeners.change]) {
      try {
        listener(next, previous);
      } catch (error) {
        this.report(error, "a change listener threw");
      }
    }
  }

  private report(error: unknown, context: string): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.options.logger?.warn(`pinset resolver: ${context}: ${err.message}`, { project: this.options.project, environment: this.options.environment });
    for (const listener of [...this.listeners.error]) {
      try {
        listener(err);
      } catch {
        // An error listener that throws has nowhere left to report to.
      }
    }
  }

  private markStale(): void {
    if (this.snap && !this.snap.stale) this.snap = { ...this.snap, stale: true };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.abort.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.abort.signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Runs until close(); catches everything, so nothing after start can reject or throw. */
  private async run(): Promise<void> {
    let watchFrom = this.options.transport === "poll" ? Number.POSITIVE_INFINITY : 0;
    let watchFailures = 0;
    while (!this.closed) {
      try {
        if (Date.now() >= watchFrom) {
          const outcome = await watchOnce(this.endpoint, {
            signal: this.abort.signal,
            idleTimeoutMs: this.options.idleTimeoutMs ?? 45_000,
            staleRecheckMs: this.options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
            handlers: {
              lastEventId: this.lastEventId,
              onOpen: (stale) => {
                this.streamStale = stale;
                if (stale) this.markStale();
              },
              onState: (state, id) => this.onState(state, id),
            },
          });
          if (outcome.kind === "closed") break;
          if (outcome.kind === "unsupported") {
            this.options.logger?.debug?.(`pinset resolver: ${outcome.detail}; polling instead`);
            watchFrom = Date.now() + POLL_AFTER_UNSUPPORTED_WATCH_MS;
            continue;
          }
          this.markStale();
          if (outcome.events > 0) {
            watchFailures = 0;
            this.backoff.reset();
          } else if (++watchFailures >= WATCH_FAILURES_BEFORE_POLLING) {
            watchFailures = 0;
            watchFrom = Date.now() + POLL_AFTER_FAILING_WATCH_MS;
          }
          if (outcome.kind === "failed") this.report(outcome.error, "the watch stream failed");
          await this.sleep(this.backoff.next());
        } else {
          await this.pollOnce();
        }
      } catch (error) {
        // Defensive: the steps above report their own failures; a bug must not end the loop.
        this.report(error, "unexpected resolver failure");
        await this.sleep(this.backoff.next());
      }
    }
  }

  private async onState(state: EnvironmentState, id: string | undefined): Promise<void> {
    const snap = this.snap;
    // With a subject any change may move the assignment (a rollout step keeps `active`).
    const needsResolve = this.options.subject !== undefined || (state.active !== null && state.active !== snap?.versionSet);
    if (needsResolve) {
      await this.accept(await requestResolve(this.endpoint, { etag: snap?.etag, signal: this.abort.signal }));
    } else if (snap) {
      // The registry says the active set is the one held: it is current, as far as the registry knows.
      const stale = this.streamStale || state.stale;
      if (snap.stale !== stale || snap.source !== "registry") this.snap = { ...snap, stale, source: "registry" };
    }
    // Only after the change is applied: a failure above replays this event on reconnect.
    if (id !== undefined) this.lastEventId = id;
  }

  private async pollOnce(): Promise<void> {
    try {
      await this.accept(await requestResolve(this.endpoint, { etag: this.snap?.etag, signal: this.abort.signal }));
      this.backoff.reset();
      const interval = this.options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
      // ±10 %: a fleet that started together does not poll in lockstep.
      await this.sleep(interval * (0.9 + 0.2 * Math.random()));
    } catch (error) {
      if (this.closed) return;
      this.markStale();
      this.report(error, "polling the registry failed");
      await this.sleep(this.backoff.next());
    }
  }
}

/**
 * Resolves the environment's bundle once and keeps it current. `await resolver.ready` before the
 * first `current()`; `ready` rejects with ResolverStartError (the registry's error as `cause`)
 * only when there is no first bundle: the registry refused (4xx: bad token, unknown environment,
 * nothing deployed), or it could not be reached and there is no usable cache file. Nothing after
 * that throws or rejects because the registry is away. See docs/sdk.md.
 */
export function createResolver(options: ResolverOptions): Resolver {
  return new Resolver(options);
}
