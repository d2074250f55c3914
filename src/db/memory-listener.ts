import type { NotificationSink, NotificationSource } from "./listener.js";

/** A notification source for unit tests: `notify`, `drop` (connection lost) and `restore`. */
export class MemoryListener implements NotificationSource {
  private sink: NotificationSink | undefined;
  private connected = false;

  start(sink: NotificationSink): void {
    this.sink = sink;
    this.restore();
  }

  async stop(): Promise<void> {
    this.connected = false;
    this.sink = undefined;
  }

  /** Delivered only while connected, like a real LISTEN connection. */
  notify(channel: string, payload: string): void {
    if (this.connected) this.sink?.onNotification(channel, payload);
  }

  drop(err = new Error("connection lost")): void {
    if (!this.connected) return;
    this.connected = false;
    this.sink?.onLost(err);
  }

  restore(): void {
    if (this.connected) return;
    this.connected = true;
    this.sink?.onListening();
  }
}
