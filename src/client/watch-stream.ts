import { PinsetApiError, RegistryUnreachableError } from "./errors.js";
import type { Endpoint } from "./resolve-request.js";
import { SseParser } from "./sse-reader.js";

/** The part of the environment JSON a watch event carries that the resolver acts on. */
export interface EnvironmentState {
  active: string | null;
  revision: number;
  /** The registry sent this from memory because its database is away. */
  stale: boolean;
}

export type WatchOutcome =
  /** The registry (or a proxy) does not offer the stream: 404/405/406/501, or not `text/event-stream`. */
  | { kind: "unsupported"; detail: string }
  /** The resolver is closing. */
  | { kind: "closed" }
  /** The server ended the stream (a restart, a load balancer's idle cut). */
  | { kind: "ended"; events: number }
  | { kind: "failed"; error: Error; events: number };

export interface WatchHandlers {
  /** Sent as `Last-Event-ID`: the registry replays the changes after it. */
  lastEventId: string | undefined;
  /** The stream is open; `stale` is the registry's `x-pinset-stale` (its database is away). */
  onOpen(stale: boolean): void;
  /** Awaited before the next event is read, so changes are applied in order. A throw ends the stream. */
  onState(state: EnvironmentState, id: string | undefined): Promise<void>;
}

const UNSUPPORTED = new Set([404, 405, 406, 501]);

function parseState(data: string): EnvironmentState | undefined {
  try {
    const value = JSON.parse(data) as Partial<EnvironmentState> | null;
    if (typeof value !== "object" || value === null || typeof value.revision !== "number") return undefined;
    return { active: typeof value.active === "string" ? value.active : null, revision: value.revision, stale: value.stale === true };
  } catch {
    return undefined;
  }
}

function parseOrText(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

/**
 * One `GET …/watch` connection, read until it ends, fails or the resolver closes. A stream that
 * goes silent for `idleTimeoutMs` (the registry sends a heartbeat at least every 15 s) is
 * treated as dead: a half-open TCP connection would otherwise wait forever for the next change.
 */
export async function watchOnce(
  endpoint: Endpoint,
  options: { signal: AbortSignal; idleTimeoutMs: number; staleRecheckMs: number; handlers: WatchHandlers },
): Promise<WatchOutcome> {
  const { signal, handlers } = options;
  const stream = new AbortController();
  const recycle = new Error("recycle");
  let idle: ReturnType<typeof setTimeout> | undefined;
  let recheck: ReturnType<typeof setTimeout> | undefined;
  const touch = () => {
    clearTimeout(idle);
    idle = setTimeout(() => stream.abort(new Error(`the watch stream was silent for ${options.idleTimeoutMs} ms`)), options.idleTimeoutMs);
  };
  const query = endpoint.subject !== undefined ? `?subject=${encodeURIComponent(endpoint.subject)}` : "";
  const headers: Record<string, string> = { ...endpoint.headers, accept: "text/event-stream", "cache-control": "no-cache" };
  if (handlers.lastEventId !== undefined) headers["last-event-id"] = handlers.lastEventId;
  let events = 0;
  touch();
  try {
    const response = await endpoint.fetch(`${endpoint.base}/watch${query}`, { method: "GET", headers, signal: AbortSignal.any([signal, stream.signal]) });
    const type = response.headers.get("content-type") ?? "";
    if (UNSUPPORTED.has(response.status) || (response.ok && !type.startsWith("text/event-stream"))) {
      await response.body?.cancel().catch(() => {});
      return { kind: "unsupported", detail: `watch answered ${response.status}${response.ok ? ` with ${type || "no content type"}` : ""}` };
    }
    if (!response.ok || !response.body) {
      return { kind: "failed", error: PinsetApiError.fromResponse(response, parseOrText(await response.text())), events };
    }
    const stale = response.headers.get("x-pinset-stale") === "true";
    // A registry without its database may not announce its recovery: reconnect now and then to ask.
    if (stale) recheck = setTimeout(() => stream.abort(recycle), options.staleRecheckMs);
    handlers.onOpen(stale);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      touch();
      for (const event of parser.push(decoder.decode(value, { stream: true }))) {
        const state = parseState(event.data);
        if (!state) continue;
        try {
          await handlers.onState(state, event.id);
        } catch (error) {
          await reader.cancel().catch(() => {});
          return { kind: "failed", error: error instanceof Error ? error : new Error(String(error)), events };
        }
        events++;
      }
    }
    return { kind: "ended", events };
  } catch (error) {
    if (signal.aborted) return { kind: "closed" };
    if (stream.signal.reason === recycle) return { kind: "ended", events };
    const cause = stream.signal.aborted ? stream.signal.reason : error;
    return { kind: "failed", error: new RegistryUnreachableError(endpoint.base, cause), events };
  } finally {
    clearTimeout(idle);
    clearTimeout(recheck);
    // Releases the connection whatever ended the read.
    stream.abort();
  }
}
