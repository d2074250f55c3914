import type { NotificationSink, NotificationSource } from "./listener.js";

/**
 * LISTEN on the embedded database: PGlite itself when it runs on this thread (its `listen` has
 * this shape), or the worker thread's client (pglite-worker-client.ts), which also says when
 * the worker died (`onLost`).
 */
export interface EmbeddedNotifier {
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
  onLost?(listener: (err: Error) => void): () => void;
}

/**
 * Embedded mode: LISTEN/NOTIFY stays inside this process, so the "connection" never drops while
 * the database lives. Every app instance on the same PGlite hears every NOTIFY. A worker that
 * dies is a loss for good (the database is gone with it): the sink hears `onLost` and nothing
 * after.
 */
export class PgliteListener implements NotificationSource {
  private unlisten: Array<() => Promise<void>> = [];
  private stopped = false;
  private offLost: (() => void) | undefined;

  constructor(private readonly options: { notifier: EmbeddedNotifier; channels: string[] }) {}

  start(sink: NotificationSink): void {
    this.stopped = false;
    this.offLost = this.options.notifier.onLost?.((err) => {
      if (!this.stopped) sink.onLost(err);
    });
    void (async () => {
      for (const channel of this.options.channels) {
        const off = await this.options.notifier.listen(channel, (payload) => {
          if (!this.stopped) sink.onNotification(channel, payload);
        });
        this.unlisten.push(off);
      }
      if (!this.stopped) sink.onListening();
    })().catch((err: unknown) => sink.onLost(err as Error));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.offLost?.();
    this.offLost = undefined;
    const offs = this.unlisten;
    this.unlisten = [];
    // The instance may already be closed (tests close the database first): nothing to undo then.
    await Promise.all(offs.map((off) => off().catch(() => {})));
  }
}
