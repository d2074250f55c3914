import pg from "pg";
import type { Logger } from "../logger.js";

/**
 * Where Postgres notifications come from: a dedicated LISTEN connection (server mode), PGlite's
 * in-process listen (embedded mode), or a memory fake (unit tests).
 *
 * The sink learns three things: a notification; `onListening` — the source is connected and
 * LISTENs on every channel (the first time, and after every reconnect); `onLost` — the
 * connection dropped, so notifications may be missed until the next `onListening`. A consumer
 * must therefore re-read whatever it caches after each `onListening` that follows a loss.
 */
export interface NotificationSink {
  onNotification(channel: string, payload: string): void;
  onListening(): void;
  onLost(err?: Error): void;
}

export interface NotificationSource {
  start(sink: NotificationSink): void;
  stop(): Promise<void>;
  /** The server process of the LISTEN connection (server mode), for operators and tests. */
  backendPid?(): number | undefined;
}

export interface PgListenerOptions {
  /** Connection settings of the pool; the listener opens its own client with them. */
  client: pg.ClientConfig;
  channels: string[];
  logger: Logger;
  /** First reconnect delay; doubles per failed attempt up to `maxBackoffMs`, with jitter. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * A `select 1` on the LISTEN connection this often; no answer within `pingTimeoutMs` counts
   * as a lost connection. Catches a silently dead peer that TCP would notice only after minutes.
   */
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  /**
   * The budgeted pool's watch: when the database turns silent (a statement got no answer and
   * nothing else did either), the LISTEN connection is pinged at once, with `checkTimeoutMs`
   * (default 1 s) to answer, instead of at the next interval — so caches stop trusting the feed
   * of a hung database within about a second, not up to interval + timeout later. A reconnect
   * or an answered ping tells the watch the database answers again.
   */
  answers?: { onSilent(listener: () => void): () => void; answered(): void };
  checkTimeoutMs?: number;
}

/** The name the LISTEN connection carries in pg_stat_activity. */
export const LISTENER_APPLICATION_NAME = "pinset-change-feed";

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * LISTEN on a dedicated pg client, never a pooled one: a pooled client would be handed to other
 * queries and its LISTEN would die with it. Reconnects by itself with exponential backoff; every
 * 'error' of the client is handled here, so a database outage never crashes the process.
 */
export class PgListener implements NotificationSource {
  private client: pg.Client | undefined;
  private sink: NotificationSink | undefined;
  private stopped = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private pid: number | undefined;
  private pinging = false;
  private unwatch: (() => void) | undefined;
  private readonly log: Logger;

  constructor(private readonly options: PgListenerOptions) {
    this.log = options.logger.child({ module: "change-feed" });
  }

  start(sink: NotificationSink): void {
    this.sink = sink;
    this.stopped = false;
    this.unwatch ??= this.options.answers?.onSilent(() => this.checkNow());
    void this.connect();
  }

  /** Pings the LISTEN connection now (unless a ping is out already); no answer in time counts as lost. */
  checkNow(): void {
    if (this.client && !this.stopped) this.ping(this.client, this.options.checkTimeoutMs ?? 1_000);
  }

  backendPid(): number | undefined {
    return this.pid;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    this.unwatch = undefined;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    const client = this.client;
    this.client = undefined;
    this.pid = undefined;
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ ...this.options.client, application_name: LISTENER_APPLICATION_NAME, keepAlive: true });
    // Without these listeners a dropped connection would be an unhandled 'error' event.
    client.on("error", (err) => this.lost(client, err));
    client.on("end", () => this.lost(client));
    client.on("notification", (msg) => {
      if (this.client === client) this.sink?.onNotification(msg.channel, msg.payload ?? "");
    });
    try {
      await client.connect();
      const { rows } = await client.query<{ pid: number }>("select pg_backend_pid() as pid");
      for (const channel of this.options.channels) await client.query(`LISTEN ${quoteIdent(channel)}`);
      if (this.stopped) {
        await client.end().catch(() => {});
        return;
      }
      this.client = client;
      this.pid = rows[0]?.pid;
      // The server answered a new connection: the pool need not wait for a probe to learn it.
      this.options.answers?.answered();
      if (this.attempt > 0) this.log.info({ attempts: this.attempt }, "change feed reconnected");
      this.attempt = 0;
      this.startPing(client);
      this.sink?.onListening();
    } catch (err) {
      await client.end().catch(() => {});
      this.scheduleReconnect(err as Error);
    }
  }

  private lost(client: pg.Client, err?: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.pid = undefined;
    this.pinging = false;
    clearInterval(this.pingTimer);
    void client.end().catch(() => {});
    if (this.stopped) return;
    this.log.warn({ err }, "change feed connection lost; reconnecting");
    this.sink?.onLost(err);
    this.scheduleReconnect(err);
  }

  private scheduleReconnect(err?: Error): void {
    if (this.stopped) return;
    const initial = this.options.initialBackoffMs ?? 100;
    const max = this.options.maxBackoffMs ?? 5_000;
    const base = Math.min(max, initial * 2 ** this.attempt);
    // Jitter (50–100 % of the delay): a fleet that lost its database does not reconnect in step.
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt += 1;
    if (this.attempt === 1 || this.attempt % 10 === 0) this.log.warn({ err, attempt: this.attempt, delay_ms: Math.round(delay) }, "change feed cannot connect; retrying");
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref();
  }

  private startPing(client: pg.Client): void {
    const every = this.options.pingIntervalMs ?? 10_000;
    const timeout = this.options.pingTimeoutMs ?? 5_000;
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.ping(client, timeout), every);
    this.pingTimer.unref();
  }

  private ping(client: pg.Client, timeout: number): void {
    if (this.pinging) return;
    this.pinging = true;
    let answered = false;
    const timer = setTimeout(() => {
      if (!answered) this.lost(client, new Error(`the LISTEN connection did not answer a ping within ${timeout} ms`));
    }, timeout);
    client
      .query("select 1")
      .then(
        () => {
          answered = true;
          clearTimeout(timer);
          this.options.answers?.answered();
        },
        (err: Error) => {
          clearTimeout(timer);
          this.lost(client, err);
        },
      )
      .finally(() => (this.pinging = false));
  }
}
