/**
 * A Server-Sent Events parser (the WHATWG "event stream interpretation"), small enough to carry
 * in the SDK instead of a dependency. Feed it decoded text in chunks of any size; it returns the
 * events completed by each chunk.
 *
 * Rules kept from the spec: lines end in CRLF, LF or CR (a CR at the end of a chunk waits for the
 * next chunk, which may start with its LF); a leading BOM is dropped; `:` starts a comment;
 * `data` lines are joined with "\n"; `id` persists to later events until changed and is ignored
 * when it contains NUL; an event with no data is not dispatched (its `id` still counts); an
 * unterminated event at the end of the stream is dropped.
 */
export interface SseEvent {
  /** The event type; "message" when the stream named none. */
  event: string;
  data: string;
  /** The last event id seen on this stream at the time of this event (may come from an earlier one). */
  id: string | undefined;
}

export class SseParser {
  private buffer = "";
  private started = false;
  private data: string[] = [];
  private eventType = "";
  private retry: number | undefined;
  private lastId: string | undefined;

  /** The id the next reconnect should send as `Last-Event-ID`. */
  get lastEventId(): string | undefined {
    return this.lastId;
  }

  /** The reconnection delay the server last asked for with `retry:` (applies at once, event or not). */
  get retryMs(): number | undefined {
    return this.retry;
  }

  push(text: string): SseEvent[] {
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.buffer += text;
    return this.drain(false);
  }

  /** The stream ended: a pending CR ends its line, and a half-received event is discarded. */
  end(): SseEvent[] {
    const events = this.drain(true);
    this.data = [];
    this.eventType = "";
    return events;
  }

  private drain(atEnd: boolean): SseEvent[] {
    const events: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      if (c === 13 && i === this.buffer.length - 1 && !atEnd) break;
      const line = this.buffer.slice(start, i);
      if (c === 13 && this.buffer.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        this.data.push(value);
        break;
      case "event":
        this.eventType = value;
        break;
      case "id":
        if (!value.includes("\0")) this.lastId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break;
    }
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    const data = this.data;
    const eventType = this.eventType;
    this.data = [];
    this.eventType = "";
    if (data.length === 0) return undefined;
    return { event: eventType || "message", data: data.join("\n"), id: this.lastId };
  }
}
