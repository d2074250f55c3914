/**
 * The Server-Sent Events frames of `watch`. Every frame is built once and the same string is
 * written to every watcher. `data` is single-line JSON (JSON.stringify never emits a raw
 * newline), so one `data:` line carries it.
 *
 *   id: <revision>            the revision the environment JSON is at (the Last-Event-ID to resume from)
 *   event: state | change     `state`: the state at connect; `change`: one per revision after it
 *   data: <environment JSON>  as GET …/environments/{env} answers; `"stale": true` added when served
 *                             from memory because the database is down
 */
export type WatchEventType = "state" | "change";

export function sseEvent(type: WatchEventType, revision: number, json: string): string {
  return `id: ${revision}\nevent: ${type}\ndata: ${json}\n\n`;
}

/** The environment JSON (an object literal) with `"stale": true` appended. */
export function markStale(json: string): string {
  return json.endsWith("}") ? `${json.slice(0, -1)},"stale":true}` : json;
}

/** A comment line: ignored by EventSource, keeps proxies and idle timers from closing the stream. */
export const HEARTBEAT = ": hb\n\n";

/** Asks EventSource clients to reconnect after this long when the stream ends. */
export function retryField(ms: number): string {
  return `retry: ${ms}\n\n`;
}
