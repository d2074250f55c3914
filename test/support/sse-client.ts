import http from "node:http";

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/**
 * A small Server-Sent Events client over node:http (cheap enough for a thousand at once): it
 * records every event and comment, and lets a test wait for the next event matching a rule.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  /** Arrival time (performance.now()) of each event, by index. */
  readonly arrivals: number[] = [];
  closed = false;
  private cursor = 0;
  private buffer = "";
  private waiters: Array<() => void> = [];

  private constructor(
    readonly status: number,
    readonly headers: http.IncomingHttpHeaders,
    private readonly req: http.ClientRequest,
    readonly body: string,
  ) {}

  /** Resolves once the response headers arrived (non-200: once the whole error body arrived). */
  static connect(url: string, options: { token?: string | null; headers?: Record<string, string> } = {}): Promise<SseClient> {
    const headers: Record<string, string> = { accept: "text/event-stream", ...options.headers };
    if (options.token !== null) headers.authorization = `Bearer ${options.token ?? "test-admin-token-0123456789abcdef"}`;
    return new Promise((resolve, reject) => {
      const req = http.get(url, { headers, agent: false }, (res) => {
        res.setEncoding("utf8");
        if (res.statusCode !== 200) {
          let body = "";
          res.on("data", (chunk: string) => (body += chunk));
          res.on("end", () => resolve(new SseClient(res.statusCode ?? 0, res.headers, req, body)));
          return;
        }
        const client = new SseClient(200, res.headers, req, "");
        res.on("data", (chunk: string) => client.feed(chunk));
        res.on("close", () => {
          client.closed = true;
          client.wake();
        });
        resolve(client);
      });
      req.on("error", reject);
    });
  }

  /** The next event not yet taken that matches `match`, waiting up to `timeoutMs`. */
  async next(match: (e: SseEvent) => boolean = () => true, timeoutMs = 5_000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = this.cursor; i < this.events.length; i++) {
        const event = this.events[i]!;
        if (match(event)) {
          this.cursor = i + 1;
          return event;
        }
      }
      this.cursor = this.events.length;
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) throw new Error(`no matching event within ${timeoutMs} ms (got ${JSON.stringify(this.events.slice(-3))}${this.closed ? ", stream closed" : ""})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits until a comment line arrives (heartbeats). */
  async nextComment(timeoutMs = 5_000): Promise<string> {
    const seen = this.comments.length;
    const deadline = Date.now() + timeoutMs;
    while (this.comments.length === seen) {
      if (Date.now() > deadline || this.closed) throw new Error(`no comment within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.comments[seen]!;
  }

  close(): void {
    this.req.destroy();
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf("\n\n")) >= 0) {
      const frame = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const event: SseEvent = { event: "message", data: "" };
      let hasData = false;
      for (const line of frame.split("\n")) {
        if (line.startsWith(":")) {
          this.comments.push(line.slice(1).trim());
          continue;
        }
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "id") event.id = value;
        if (field === "event") event.event = value;
        if (field === "data") {
          event.data = hasData ? `${event.data}\n${value}` : value;
          hasData = true;
        }
      }
      if (hasData) {
        this.events.push(event);
        this.arrivals.push(performance.now());
      }
    }
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
