import { sseEvent } from "./sse.js";
import type { EnvironmentKey } from "../core/environment-key.js";

/** One watcher's stream: the whole per-watcher state the hub keeps is this object. */
export interface WatchSink {
  write(chunk: string): void;
  /** Bytes written but not yet taken by the client (user-space buffer). */
  readonly buffered: number;
  /** Graceful end (shutdown). */
  end(): void;
  /** Abrupt end (a client too slow to keep up). */
  destroy(): void;
}

/** A frame on its way to the watchers attached when it was published; `next` indexes `sinks`. */
export interface FanOut {
  readonly frame: string;
  readonly sinks: readonly WatchSink[];
  next: number;
}

/**
 * Everything this instance's watchers of one environment share: the current state (JSON and
 * frames built once), the recent change frames, and the single refresh in flight.
 */
export interface Topic {
  readonly key: EnvironmentKey;
  readonly watchers: Set<WatchSink>;
  /** -1 until first read. */
  revision: number;
  json: string;
  stateFrame?: string;
  /** The state is current: read while the feed was live, and no announced change is unread. */
  fresh: boolean;
  /** The highest revision the feed announced. */
  wanted: number;
  /** Consecutive change frames ending at `revision` (while watched). */
  recent: Array<{ revision: number; frame: string }>;
  refreshing?: Promise<void>;
  again: boolean;
  /** A watcher got this state marked stale: send it again, fresh, once the database answers. */
  servedStale: boolean;
  /** Frames still being written, oldest first, while a large fan-out yields between batches. */
  fanOut?: FanOut[];
}

export function newTopic(key: EnvironmentKey): Topic {
  return {
    key: { project: key.project, environment: key.environment },
    watchers: new Set(),
    revision: -1,
    json: "",
    fresh: false,
    wanted: -1,
    recent: [],
    again: false,
    servedStale: false,
  };
}

export function stateFrame(topic: Topic): string {
  return (topic.stateFrame ??= sseEvent("state", topic.revision, topic.json));
}

/** Keeps the recent frames consecutive: a jump (a refresh without watchers) starts them over. */
export function pushRecent(topic: Topic, revision: number, frame: string, size: number): void {
  const last = topic.recent[topic.recent.length - 1];
  if (last && last.revision !== revision - 1) topic.recent = [];
  topic.recent.push({ revision, frame });
  if (topic.recent.length > size) topic.recent.shift();
}

/** The recent frames hold every revision after `after`: a replay needs no query. */
export function recentCovers(topic: Topic, after: number): boolean {
  const first = topic.recent[0];
  const last = topic.recent[topic.recent.length - 1];
  return first !== undefined && last !== undefined && first.revision <= after + 1 && last.revision === topic.revision;
}

/**
 * The change frames after `after` up to the topic's revision (recent frames first, then the
 * history read for the replay), or undefined: send the state instead (nothing missed, too far
 * behind, or a gap).
 */
export function replayFrames(topic: Topic, after: number, limit: number, past?: Map<number, string>): Array<{ revision: number; frame: string }> | undefined {
  if (after >= topic.revision || topic.revision - after > limit) return undefined;
  const recent = new Map(topic.recent.map((r) => [r.revision, r.frame]));
  const frames: Array<{ revision: number; frame: string }> = [];
  for (let revision = after + 1; revision <= topic.revision; revision++) {
    const frame = revision === topic.revision ? (recent.get(revision) ?? sseEvent("change", revision, topic.json)) : (recent.get(revision) ?? past?.get(revision));
    if (frame === undefined) return undefined;
    frames.push({ revision, frame });
  }
  return frames;
}

/** Replayed frames (consecutive, ending at the topic's revision) become the recent frames when they reach further back. */
export function keepRecent(topic: Topic, frames: Array<{ revision: number; frame: string }>, size: number): void {
  const first = frames[0];
  if (!first || frames[frames.length - 1]!.revision !== topic.revision) return;
  if (topic.recent.length > 0 && topic.recent[0]!.revision <= first.revision) return;
  topic.recent = frames.slice(-size);
}
