import { TOKEN_REVOKED_CHANNEL } from "../auth/service.js";
import type { BackgroundTask } from "../background.js";
import type { DatabaseHandle } from "../db/connect.js";
import { PgListener, type NotificationSource, type PgListenerOptions } from "../db/listener.js";
import { PgliteListener } from "../db/pglite-listener.js";
import type { Logger } from "../logger.js";
import { ENVIRONMENT_CHANNEL } from "./channel.js";
import type { EnvironmentView } from "./present.js";

/** What a notification on ENVIRONMENT_CHANNEL tells (the AppliedChange of change.ts, trimmed). */
export interface EnvironmentChangeNotice {
  project: string;
  environment: string;
  revision: number;
  /** The environment JSON at `revision`, when the change carried it (see change.ts `rolloutAfter`). */
  state?: EnvironmentView;
}

export interface ChangeFeedSubscriber {
  /** A committed change of one environment (NOTIFY is sent at commit, in commit order). */
  onChange?(change: EnvironmentChangeNotice): void;
  onTokenRevoked?(tokenId: string): void;
  /**
   * The feed is listening: at the first connect and after every reconnect. Changes committed
   * while it was not listening were never announced, so re-read everything cached or watched.
   */
  onResync?(): void;
  /** The connection is lost: until the next onResync, changes may go unannounced. */
  onDown?(): void;
}

/**
 * The cross-instance change feed: every instance LISTENs on ENVIRONMENT_CHANNEL (and the token
 * revocation channel) and hands each committed change to its subscribers, which invalidate
 * caches and fan out to watchers. `live` is true only while the LISTEN connection is up: only
 * then may caches trust an entry until a notification invalidates it.
 */
export class ChangeFeed implements BackgroundTask {
  private readonly subscribers = new Set<ChangeFeedSubscriber>();
  private isLive = false;
  private readonly log: Logger;

  constructor(
    private readonly source: NotificationSource,
    options: { logger: Logger },
  ) {
    this.log = options.logger.child({ module: "change-feed" });
  }

  get live(): boolean {
    return this.isLive;
  }

  /** The database backend of the LISTEN connection (server mode); undefined while disconnected. */
  backendPid(): number | undefined {
    return this.source.backendPid?.();
  }

  /** Resolves once the feed is listening (at once when it is). */
  whenLive(timeoutMs = 10_000): Promise<void> {
    if (this.isLive) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`the change feed did not start listening within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.subscribe({
        onResync: () => {
          clearTimeout(timer);
          off();
          resolve();
        },
      });
    });
  }

  subscribe(subscriber: ChangeFeedSubscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  start(): void {
    this.source.start({
      onNotification: (channel, payload) => this.dispatch(channel, payload),
      onListening: () => {
        this.isLive = true;
        this.each((s) => s.onResync?.());
      },
      onLost: () => {
        this.isLive = false;
        this.each((s) => s.onDown?.());
      },
    });
  }

  async stop(): Promise<void> {
    this.isLive = false;
    await this.source.stop();
  }

  private dispatch(channel: string, payload: string): void {
    if (channel === TOKEN_REVOKED_CHANNEL) {
      this.each((s) => s.onTokenRevoked?.(payload));
      return;
    }
    if (channel !== ENVIRONMENT_CHANNEL) return;
    const notice = parseNotice(payload);
    if (!notice) {
      this.log.warn({ payload: payload.slice(0, 200) }, "ignored a malformed environment change notification");
      return;
    }
    this.each((s) => s.onChange?.(notice));
  }

  /** One subscriber's failure must not keep the others from hearing about a change. */
  private each(call: (s: ChangeFeedSubscriber) => void): void {
    for (const s of this.subscribers) {
      try {
        call(s);
      } catch (err) {
        this.log.error({ err }, "change feed subscriber failed");
      }
    }
  }
}

function parseNotice(payload: string): EnvironmentChangeNotice | undefined {
  try {
    const value = JSON.parse(payload) as Partial<EnvironmentChangeNotice> | null;
    if (typeof value?.project !== "string" || typeof value.environment !== "string" || !Number.isInteger(value.revision)) return undefined;
    const notice: EnvironmentChangeNotice = { project: value.project, environment: value.environment, revision: value.revision! };
    // Only a state that describes this very revision of this environment is used.
    const state = value.state;
    if (typeof state === "object" && state !== null && state.name === value.environment && state.revision === value.revision) notice.state = state;
    return notice;
  } catch {
    return undefined;
  }
}

export const FEED_CHANNELS = [ENVIRONMENT_CHANNEL, TOKEN_REVOKED_CHANNEL];

/** The feed for a database: a dedicated LISTEN connection on Postgres, in-process on PGlite. */
export function createChangeFeed(
  handle: Pick<DatabaseHandle, "pglite" | "pool" | "answers">,
  options: { logger: Logger } & Pick<PgListenerOptions, "pingIntervalMs" | "initialBackoffMs" | "maxBackoffMs">,
): ChangeFeed {
  let source: NotificationSource;
  if (handle.pglite) {
    source = new PgliteListener({ pglite: handle.pglite, channels: FEED_CHANNELS });
  } else if (handle.pool) {
    source = new PgListener({
      client: handle.pool.options,
      channels: FEED_CHANNELS,
      logger: options.logger,
      ...(handle.answers ? { answers: handle.answers } : {}),
      ...(options.pingIntervalMs !== undefined ? { pingIntervalMs: options.pingIntervalMs } : {}),
      ...(options.initialBackoffMs !== undefined ? { initialBackoffMs: options.initialBackoffMs } : {}),
      ...(options.maxBackoffMs !== undefined ? { maxBackoffMs: options.maxBackoffMs } : {}),
    });
  } else {
    throw new Error("createChangeFeed: the database handle has neither a PGlite instance nor a pg pool");
  }
  return new ChangeFeed(source, options);
}
