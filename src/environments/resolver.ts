import { withDatabaseBudget } from "../db/budgets.js";
import { isDatabaseUnavailable } from "../db/errors.js";
import { NotFoundError } from "../core/errors.js";
import { cachedBundle, type ResolveCache } from "./resolve-cache.js";
import type { RolloutHooks, VersionSetReader } from "./service.js";
import type { EnvironmentStore } from "./ports.js";
import type { EnvironmentKey } from "../core/environment-key.js";

/**
 * What `resolve` answers: the set, its etag and bundle bytes. `body` is absent only when the
 * caller's `notModified` said the etag matched (a 304 needs no bundle). `stale`: served from
 * this instance's last known bundle because the database is unavailable.
 */
export interface ResolveAnswer {
  readonly versionSet: string;
  readonly etag: string;
  readonly body?: Buffer;
  /** Only during a rollout with a subject. */
  readonly assignment?: "stable" | "candidate";
  readonly stale: boolean;
}

export interface ResolveOptions {
  at?: Date;
  subject?: string;
  /** The client already holds this etag: the bundle need not be built. */
  notModified?: (etag: string) => boolean;
}

/**
 * After the database failed a resolve, answer from the last known bundle for this long without
 * trying it again, so an outage does not turn every request into a failed connection attempt.
 * The change feed reconnecting ends the pause at once.
 */
const UNAVAILABLE_PAUSE_MS = 250;

const label = (key: EnvironmentKey) => `Environment ${key.environment} of project ${key.project}`;

/**
 * `resolve`: the set an environment serves and its bundle bytes, from the resolve cache when it
 * can (see resolve-cache.ts for when an entry is trusted), else one small read.
 */
export class EnvironmentResolver {
  private unavailableUntil = 0;

  constructor(
    private readonly deps: {
      store: Pick<EnvironmentStore, "find" | "findActive" | "entryAt">;
      cache: ResolveCache;
      versionSets: VersionSetReader;
      rollouts?: RolloutHooks;
      /** The 404 for a missing environment (or project). */
      notFound(key: EnvironmentKey): Promise<Error>;
      /**
       * With a last bundle to fall back on, how long the database may take before that bundle is
       * answered, marked stale (instead of the read budget). Undefined: the read budget.
       */
      staleAfterMs?: number;
    },
  ) {}

  /**
   * The set an environment serves now (or served at `at`). The current answer comes from the
   * resolve cache when trusted: one Map lookup, no database query, no JSON work. When the
   * database is unavailable — refuses, or does not answer within `staleAfterMs` — the last
   * bundle this instance served for the environment is answered, marked stale (none served
   * yet: the database gets its whole read budget, and then the 503 stands).
   */
  async resolve(key: EnvironmentKey, options: ResolveOptions = {}): Promise<ResolveAnswer> {
    if (options.at !== undefined) return this.resolveAt(key, options.at, options.notModified);
    if (options.subject === undefined) {
      const hot = this.hot(key);
      if (hot) return hot;
    }
    const fallback = this.deps.cache.lastKnown(key.project, key.environment) ? this.deps.staleAfterMs : undefined;
    if (this.unavailableUntil > 0 && Date.now() < this.unavailableUntil) {
      const stale = await withDatabaseBudget(fallback, () => this.staleAnswer(key, options));
      if (stale) return stale;
    }
    try {
      return await withDatabaseBudget(fallback, () => this.resolveCurrent(key, options));
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      this.unavailableUntil = Date.now() + UNAVAILABLE_PAUSE_MS;
      const stale = await withDatabaseBudget(fallback, () => this.staleAnswer(key, options));
      if (!stale) throw err;
      return stale;
    }
  }

  /**
   * The current answer (no `at`, no subject) when the resolve cache holds it and trusts it,
   * synchronously: the hot path. Undefined: `resolve` reads what is missing.
   */
  hot(key: EnvironmentKey): ResolveAnswer | undefined {
    return this.deps.cache.hot(key.project, key.environment);
  }

  /** The change feed is listening again, so the database answers: stop answering stale. */
  databaseAvailable(): void {
    this.unavailableUntil = 0;
  }

  /**
   * The answer from memory alone. A subject keeps its side of a rollout when the rollouts engine
   * still knows the rollout and the version sets still hold that set's bundle; otherwise the last
   * bundle this environment served.
   */
  private async staleAnswer(key: EnvironmentKey, options: ResolveOptions): Promise<ResolveAnswer | undefined> {
    if (options.subject !== undefined && this.deps.rollouts?.assign) {
      try {
        const assigned = await this.deps.rollouts.assign(key.project, key.environment, options.subject);
        if (assigned) {
          const answer = await this.setAnswer(key.project, assigned.versionSet, options.notModified);
          return { ...answer, assignment: assigned.assignment, stale: true };
        }
      } catch (err) {
        if (!isDatabaseUnavailable(err)) throw err;
      }
    }
    const last = this.deps.cache.lastKnown(key.project, key.environment);
    return last ? { versionSet: last.versionSet, etag: last.etag, body: last.body, stale: true } : undefined;
  }

  private async resolveCurrent(key: EnvironmentKey, options: ResolveOptions): Promise<ResolveAnswer> {
    const active = await this.currentActive(key);
    if (options.subject !== undefined) {
      const assigned = await this.deps.rollouts?.assign?.(key.project, key.environment, options.subject);
      if (assigned) return { ...(await this.setAnswer(key.project, assigned.versionSet, options.notModified)), assignment: assigned.assignment };
    }
    const held = this.deps.cache.bundle(key.project, key.environment, active);
    if (held) return held;
    const etag = `"${active}"`;
    if (options.notModified?.(etag)) return { versionSet: active, etag, stale: false };
    const { json } = await this.deps.versionSets.bundleBytes(key.project, active);
    const bundle = cachedBundle(active, json);
    this.deps.cache.storeBundle(key.project, key.environment, bundle);
    return bundle;
  }

  /** Any set's answer, not kept per environment (a rollout's candidate, a past set). */
  private async setAnswer(project: string, versionSet: string, notModified?: (etag: string) => boolean): Promise<ResolveAnswer> {
    const etag = `"${versionSet}"`;
    if (notModified?.(etag)) return { versionSet, etag, stale: false };
    // The reader's encoded bytes when it keeps them: a `?subject=` answer copies nothing per request.
    const { json, bytes } = await this.deps.versionSets.bundleBytes(project, versionSet);
    return { versionSet, etag, body: bytes ?? Buffer.from(json, "utf8"), stale: false };
  }

  private async currentActive(key: EnvironmentKey): Promise<string> {
    let state = this.deps.cache.active(key.project, key.environment);
    if (!state) {
      const ticket = this.deps.cache.ticket();
      const row = await this.deps.store.findActive(key);
      if (!row) throw await this.deps.notFound(key);
      state = row;
      this.deps.cache.storeActive(key.project, key.environment, ticket, row);
    }
    if (state.active === null) throw new NotFoundError(`${label(key)} has no active version set yet: deploy one first`);
    return state.active;
  }

  private async resolveAt(key: EnvironmentKey, at: Date, notModified?: (etag: string) => boolean): Promise<ResolveAnswer> {
    if (!(await this.deps.store.find(key))) throw await this.deps.notFound(key);
    const entry = await this.deps.store.entryAt(key, at);
    const versionSet = entry?.version_set;
    if (!versionSet) throw new NotFoundError(`${label(key)} had no active version set at ${at.toISOString()}`);
    return this.setAnswer(key.project, versionSet, notModified);
  }
}
