import { withDatabaseBudget } from "../db/budgets.js";
import { isDatabaseUnavailable } from "../db/errors.js";
import type { Logger } from "../logger.js";
import type { EnvironmentChangeNotice } from "./change-feed.js";
import type { PastState } from "./past-states.js";
import type { EnvironmentView } from "./service.js";
import { HEARTBEAT, markStale, sseEvent } from "./sse.js";
import { keepRecent, newTopic, pushRecent, recentCovers, replayFrames, stateFrame, type Topic, type WatchSink } from "./watch-topic.js";
import type { EnvironmentKey } from "../core/environment-key.js";

export type { WatchSink } from "./watch-topic.js";

/** What the hub reads (EnvironmentService satisfies it). */
export interface WatchSource {
  current(key: EnvironmentKey): Promise<EnvironmentView>;
  statesAfter(key: EnvironmentKey, after: number, limit: number): Promise<PastState[]>;
}

export interface WatchHubOptions {
  source: WatchSource;
  /** Whether the change feed is listening: only then is a topic's state known to be current. */
  feedLive: () => boolean;
  logger: Logger;
  /** Comment heartbeat interval (API.md: at least every 15 s). */
  heartbeatMs?: number;
  /** A watcher with more unsent bytes than this is dropped instead of buffered without end. */
  maxBufferedBytes?: number;
  /** Most revisions replayed for a Last-Event-ID; further behind gets the current state instead. */
  replayLimit?: number;
  /** Recent change frames kept per watched environment, so most replays need no query. */
  recentSize?: number;
  /**
   * When this instance knows the environment's last state, how long a new stream waits for the
   * database before starting from that state, marked stale. Undefined: the read budget.
   */
  staleAfterMs?: number;
  /** Watchers written to in one go; a larger fan-out yields to the event loop between batches. */
  fanOutBatch?: number;
}

export interface OpenedWatch {
  stale: boolean;
  /**
   * Writes the first frames and registers the sink, in one synchronous step, so no broadcast can
   * fall between them. Returns the detach function (call it when the client goes away).
   */
  attach(sink: WatchSink): () => void;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The watchers of this instance, grouped by environment. A change announced by the feed costs
 * one read per environment (however many watchers), then the same frame is written to each.
 * Frames go out in revision order; a revision the feed skipped (notifications coalesced, or the
 * feed reconnected) is filled in from the history, so a watcher sees one event per revision.
 */
export class WatchHub {
  private readonly topics = new Map<string, Topic>();
  private readonly pastReads = new Map<string, Promise<Map<number, string>>>();
  private count = 0;
  private dropped = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private readonly heartbeatMs: number;
  private readonly maxBuffered: number;
  private readonly replayLimit: number;
  private readonly recentSize: number;
  private readonly fanOutBatch: number;

  constructor(private readonly options: WatchHubOptions) {
    this.log = options.logger.child({ module: "watch" });
    this.heartbeatMs = options.heartbeatMs ?? 10_000;
    this.maxBuffered = options.maxBufferedBytes ?? 256 * 1024;
    this.replayLimit = options.replayLimit ?? 1_000;
    this.recentSize = options.recentSize ?? 64;
    this.fanOutBatch = options.fanOutBatch ?? 1_000;
  }

  watcherCount(): number {
    return this.count;
  }

  droppedCount(): number {
    return this.dropped;
  }

  /**
   * Prepares a watch: the current state (from memory when current, else one shared read), and
   * the missed revisions after `lastEventId`. While the database is unavailable (or does not
   * answer within `staleAfterMs`) the last known state is used, marked stale; never known → the
   * unavailability error.
   */
  async open(key: EnvironmentKey, options: { lastEventId?: number } = {}): Promise<OpenedWatch> {
    const topic = this.topicFor(key);
    const budget = topic.revision >= 0 ? this.options.staleAfterMs : undefined;
    let stale = false;
    if (!topic.fresh || !this.options.feedLive()) {
      try {
        await withDatabaseBudget(budget, () => this.refresh(topic));
      } catch (err) {
        if (!isDatabaseUnavailable(err) || topic.revision < 0) {
          if (topic.revision < 0 && topic.watchers.size === 0) this.topics.delete(keyOf(key));
          throw err;
        }
        stale = true;
      }
    }
    const after = options.lastEventId;
    let past: Map<number, string> | undefined;
    if (!stale && after !== undefined && after < topic.revision && topic.revision - after <= this.replayLimit && !recentCovers(topic, after)) {
      try {
        past = await withDatabaseBudget(budget, () => this.pastFrames(topic, after));
      } catch (err) {
        if (!isDatabaseUnavailable(err)) throw err;
        stale = true;
      }
    }
    return { stale, attach: (sink) => this.attach(topic, sink, { stale, ...(after !== undefined ? { after } : {}), ...(past ? { past } : {}) }) };
  }

  /** Feed: a change committed. Invalidation of the caches happened before this (see propagation.ts). */
  onChange(notice: EnvironmentChangeNotice): void {
    const topic = this.topics.get(keyOf(notice));
    if (!topic || notice.revision <= topic.revision) return;
    topic.wanted = Math.max(topic.wanted, notice.revision);
    if (topic.watchers.size === 0) {
      topic.fresh = false;
      return;
    }
    // The notification carries the next revision's state and nothing is pending: no read needed.
    if (notice.state && notice.revision === topic.revision + 1 && topic.fresh && !topic.refreshing && !topic.servedStale) {
      this.publish(topic, notice.revision, JSON.stringify(notice.state));
      return;
    }
    this.refresh(topic).catch(() => {});
  }

  /** Feed: connection lost; no state can be called current until it is back. */
  onDown(): void {
    for (const topic of this.topics.values()) topic.fresh = false;
  }

  /** Feed: listening again; re-read every watched environment (changes may have been missed). */
  onResync(): void {
    for (const topic of this.topics.values()) {
      topic.fresh = false;
      if (topic.watchers.size > 0) this.refresh(topic).catch(() => {});
    }
  }

  /** Ends every stream (shutdown): clients reconnect, to another instance if this one is gone. */
  closeAll(): void {
    for (const topic of this.topics.values()) {
      for (const sink of topic.watchers) sink.end();
      topic.watchers.clear();
      topic.recent = [];
    }
    this.count = 0;
    this.stopHeartbeat();
  }

  private topicFor(key: EnvironmentKey): Topic {
    const k = keyOf(key);
    let topic = this.topics.get(k);
    if (!topic) {
      topic = newTopic(key);
      this.topics.set(k, topic);
    }
    return topic;
  }

  private attach(topic: Topic, sink: WatchSink, opened: { stale: boolean; after?: number; past?: Map<number, string> }): () => void {
    if (opened.stale) {
      sink.write(sseEvent("state", topic.revision, markStale(topic.json)));
      topic.servedStale = true;
    } else {
      const frames = opened.after === undefined ? undefined : replayFrames(topic, opened.after, this.replayLimit, opened.past);
      if (frames) {
        for (const { frame } of frames) sink.write(frame);
        // The next watcher that missed the same revisions (a reconnect storm) needs no query.
        keepRecent(topic, frames, this.recentSize);
      } else {
        sink.write(stateFrame(topic));
      }
    }
    topic.watchers.add(sink);
    this.count += 1;
    this.startHeartbeat();
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      this.detach(topic, sink);
    };
  }

  /** One history read per environment and starting revision at a time, shared by concurrent replays. */
  private pastFrames(topic: Topic, after: number): Promise<Map<number, string>> {
    const k = `${keyOf(topic.key)}@${after}`;
    let reading = this.pastReads.get(k);
    if (!reading) {
      reading = this.options.source
        .statesAfter(topic.key, after, this.replayLimit)
        .then((states) => new Map(states.map((s) => [s.revision, sseEvent("change", s.revision, JSON.stringify(s.view))])))
        .finally(() => this.pastReads.delete(k));
      this.pastReads.set(k, reading);
    }
    return reading;
  }

  private detach(topic: Topic, sink: WatchSink): void {
    if (!topic.watchers.delete(sink)) return;
    this.count -= 1;
    // Unwatched, the topic stops following changes: its recent frames would get gaps.
    if (topic.watchers.size === 0) topic.recent = [];
    if (this.count === 0) this.stopHeartbeat();
  }

  /** One read (and broadcast) in flight per topic; a call during it asks for one more round. */
  private refresh(topic: Topic): Promise<void> {
    if (topic.refreshing) {
      topic.again = true;
      return topic.refreshing;
    }
    const run = async () => {
      let retries = 0;
      do {
        topic.again = false;
        const liveAtStart = this.options.feedLive();
        await this.readAndPublish(topic);
        topic.fresh = liveAtStart;
        // The announced commit not visible yet to this read (should not happen): read again shortly.
        if (topic.revision < topic.wanted && retries++ < 5) {
          topic.again = true;
          await delay(20);
        }
      } while (topic.again);
    };
    const refreshing = run()
      .catch((err: unknown) => {
        topic.fresh = false;
        if (topic.watchers.size > 0) {
          this.log.warn({ err, project: topic.key.project, environment: topic.key.environment }, "watch: cannot read the environment; its watchers wait for the next change or reconnect");
        }
        throw err;
      })
      .finally(() => {
        if (topic.refreshing === refreshing) topic.refreshing = undefined;
      });
    topic.refreshing = refreshing;
    return refreshing;
  }

  private async readAndPublish(topic: Topic): Promise<void> {
    const view = await this.options.source.current(topic.key);
    if (view.revision === topic.revision) {
      // Same revision; fields that change without one (protected, evidence) are refreshed quietly.
      topic.json = JSON.stringify(view);
      topic.stateFrame = undefined;
      if (topic.servedStale) {
        topic.servedStale = false;
        this.broadcast(topic, stateFrame(topic));
      }
      return;
    }
    const gap = view.revision - topic.revision - 1;
    if (topic.revision >= 0 && gap > 0 && gap <= this.replayLimit && topic.watchers.size > 0) {
      const missed = await this.options.source.statesAfter(topic.key, topic.revision, gap);
      for (const state of missed) {
        if (state.revision > topic.revision && state.revision < view.revision) this.publish(topic, state.revision, JSON.stringify(state.view));
      }
    }
    this.publish(topic, view.revision, JSON.stringify(view));
    topic.servedStale = false;
  }

  private publish(topic: Topic, revision: number, json: string): void {
    topic.revision = revision;
    topic.json = json;
    topic.stateFrame = undefined;
    if (topic.watchers.size === 0) return;
    const frame = sseEvent("change", revision, json);
    pushRecent(topic, revision, frame, this.recentSize);
    this.broadcast(topic, frame);
  }

  /**
   * Writes `frame` to every watcher of the topic. A fan-out larger than one batch yields to the
   * event loop between batches, so requests (resolves, deploys) are answered while thousands of
   * watchers are written to; the frames published meanwhile queue behind it, each for the
   * watchers attached when it was published (a later one started from a newer state). So every
   * watcher gets every frame once, in revision order.
   */
  private broadcast(topic: Topic, frame: string): void {
    if (!topic.fanOut && topic.watchers.size <= this.fanOutBatch) {
      for (const sink of topic.watchers) this.send(topic, sink, frame);
      return;
    }
    const job = { frame, sinks: [...topic.watchers], next: 0 };
    if (topic.fanOut) {
      topic.fanOut.push(job);
      return;
    }
    topic.fanOut = [job];
    this.continueFanOut(topic);
  }

  private continueFanOut(topic: Topic): void {
    const queue = topic.fanOut!;
    let budget = this.fanOutBatch;
    while (queue.length > 0) {
      const job = queue[0]!;
      for (; job.next < job.sinks.length && budget > 0; budget--) {
        const sink = job.sinks[job.next++]!;
        // Gone since (closed, dropped, shut down): nothing more for it.
        if (topic.watchers.has(sink)) this.send(topic, sink, job.frame);
      }
      if (job.next < job.sinks.length) {
        setImmediate(() => this.continueFanOut(topic));
        return;
      }
      queue.shift();
    }
    topic.fanOut = undefined;
  }

  private send(topic: Topic, sink: WatchSink, frame: string): void {
    if (sink.buffered > this.maxBuffered) this.drop(topic, sink);
    else sink.write(frame);
  }

  private drop(topic: Topic, sink: WatchSink): void {
    this.dropped += 1;
    this.log.warn({ project: topic.key.project, environment: topic.key.environment, buffered: sink.buffered }, "watch: dropped a client that does not keep up");
    this.detach(topic, sink);
    sink.destroy();
  }

  private startHeartbeat(): void {
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => {
      for (const topic of this.topics.values()) this.broadcast(topic, HEARTBEAT);
    }, this.heartbeatMs);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}

function keyOf(key: { project: string; environment: string }): string {
  return `${key.project}/${key.environment}`;
}
