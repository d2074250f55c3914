/**
 * A child process holding `count` real `watch` connections (SSE over http.request with a
 * keep-alive agent) to one registry instance, started by propagation.ts over IPC. It records
 * when each event arrives (wall clock, comparable with the parent's) and, while checking is on,
 * resolves on the same instance from the first `checkers` connections right after each change
 * event, to catch stale reads: "after a watcher saw revision N, resolve never answers an older
 * set".
 */
import http from "node:http";
import { nowMs } from "./stats.js";

export interface StartMessage {
  type: "start";
  watchUrl: string;
  resolveUrl: string;
  token: string;
  count: number;
  checkers: number;
}

export type ChildMessage =
  | { type: "ready"; connected: number }
  | { type: "complete"; revision: number }
  | { type: "check"; revision: number; active: string; resolved: string | null; status: number; stale: boolean }
  | { type: "arrivals"; arrivals: Record<number, number[]>; outOfOrder: number; dropped: number }
  | { type: "failed"; message: string };

const send = (message: ChildMessage) => process.send!(message);

const arrivals = new Map<number, number[]>();
const requests: http.ClientRequest[] = [];
let outOfOrder = 0;
let dropped = 0;
let expected = 0;
/** Checks run only in the stale-read phase: their resolves would otherwise load B during the latency phase. */
let checking = false;

function record(revision: number, at: number): void {
  let list = arrivals.get(revision);
  if (!list) arrivals.set(revision, (list = []));
  list.push(at);
  if (list.length === expected) send({ type: "complete", revision });
}

function check(config: StartMessage, agent: http.Agent, revision: number, active: string): void {
  const req = http.get(config.resolveUrl, { agent, headers: { authorization: `Bearer ${config.token}` } }, (res) => {
    res.resume();
    res.on("end", () =>
      send({ type: "check", revision, active, resolved: (res.headers["x-pinset-version-set"] as string | undefined) ?? null, status: res.statusCode ?? 0, stale: res.headers["x-pinset-stale"] === "true" }),
    );
  });
  req.on("error", () => send({ type: "check", revision, active, resolved: null, status: -1, stale: false }));
}

/** Opens one watcher; resolves when its first event (the state at connect) has arrived. */
function watch(config: StartMessage, agent: http.Agent, checkAgent: http.Agent | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    let last = -1;
    let first = true;
    const req = http.get(config.watchUrl, { agent, headers: { authorization: `Bearer ${config.token}`, accept: "text/event-stream" } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`watch answered ${res.statusCode}`));
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        const at = nowMs();
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) !== -1) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const id = /^id: ?(\d+)$/m.exec(frame)?.[1];
          if (id === undefined) continue;
          const revision = Number(id);
          if (revision <= last) outOfOrder++;
          last = revision;
          if (first) {
            first = false;
            resolve();
            continue;
          }
          record(revision, at);
          if (checkAgent && checking) {
            const active = /"active":"([^"]+)"/.exec(frame)?.[1];
            if (active) check(config, checkAgent, revision, active);
          }
        }
      });
      res.on("close", () => {
        if (!first) dropped++;
      });
    });
    req.on("error", reject);
    requests.push(req);
  });
}

async function start(config: StartMessage): Promise<void> {
  expected = config.count;
  const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const checkAgent = new http.Agent({ keepAlive: true, maxSockets: Math.max(config.checkers, 1) });
  // Batches keep the registry's accept backlog from overflowing while thousands connect.
  const BATCH = 250;
  for (let i = 0; i < config.count; i += BATCH) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(i + BATCH, config.count); j++) batch.push(watch(config, agent, j < config.checkers ? checkAgent : undefined));
    await Promise.all(batch);
  }
  send({ type: "ready", connected: config.count });
}

process.on("message", (message: StartMessage | { type: "checking"; on: boolean } | { type: "collect" } | { type: "stop" }) => {
  if (message.type === "checking") {
    checking = message.on;
  } else if (message.type === "start") {
    start(message).catch((error: unknown) => send({ type: "failed", message: String((error as Error)?.message ?? error) }));
  } else if (message.type === "collect") {
    send({ type: "arrivals", arrivals: Object.fromEntries(arrivals), outOfOrder, dropped });
  } else if (message.type === "stop") {
    for (const req of requests) req.destroy();
    process.exit(0);
  }
});
