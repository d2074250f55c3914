import type { PGlite } from "@electric-sql/pglite";
import type { NotificationSink, NotificationSource } from "./listener.js";

/**
 * Embedded mode: PGlite runs in this process, so LISTEN/NOTIFY is in-process and the
 * "connection" can never drop. Every app instance on the same PGlite hears every NOTIFY.
 */
export class PgliteListener implements NotificationSource {
  private unlisten: Array<() => Promise<void>> = [];
  private stopped = false;

  constructor(private readonly options: { pglite: PGlite; channels: string[] }) {}

  start(sink: NotificationSink): void {
    this.stopped = false;
    void (async () => {
      for (const channel of this.options.channels) {
        const off = await this.options.pglite.listen(channel, (payload) => {
          if (!this.stopped) sink.onNotification(channel, payload);
        });
        this.unlisten.push(off);
      }
      if (!this.stopped) sink.onListening();
    })().catch((err: unknown) => sink.onLost(err as Error));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const offs = this.unlisten;
    this.unlisten = [];
    // The instance may already be closed (tests close the database first): nothing to undo then.
    await Promise.all(offs.map((off) => off().catch(() => {})));
  }
}
