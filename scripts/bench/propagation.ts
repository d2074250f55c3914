import { spawn, type ChildProcess } from "node:child_process";
import { REPO_ROOT, type SpawnedServer } from "../../test/support/spawn-server.js";
import { api, deploy, envPath, rssMiB, TOKEN } from "./cluster.js";
import { nowMs, summarize, type Summary } from "./stats.js";
import type { ChildMessage, StartMessage } from "./watch-clients.js";

export interface PropagationResult {
  watchers: number;
  processes: number;
  deploys: number;
  /** Deploys of the second phase, in which checkers resolve on B after each event. */
  checkedDeploys: number;
  /** Deploy request sent on A → event received by a watcher on B, over every (watcher, deploy) of the first phase. */
  latency: Summary;
  /** Per deploy, the first watcher's latency: the registry's path without the fan-out. */
  first: Summary;
  /** The deploy request's own round trip on A. */
  deployRequest: Summary;
  /** Events a watcher never received (within the wait). */
  missing: number;
  outOfOrder: number;
  dropped: number;
  /** Resolves on B right after a watcher on B saw a change, and how many answered an older set. */
  checks: number;
  staleReads: number;
  /** Why: answers other than 200 (by status), and 200s marked `x-pinset-stale` (the database did not answer in time). */
  staleCauses: { statuses: Record<string, number>; markedStale: number };
  /** B's resident memory before the watchers connected and with them all connected. */
  rssBeforeMiB: number;
  rssWithWatchersMiB: number;
  connectSeconds: number;
}

interface Child {
  process: ChildProcess;
  count: number;
}

function startChildren(total: number, processes: number): Child[] {
  const children: Child[] = [];
  for (let i = 0; i < processes; i++) {
    const count = Math.floor(total / processes) + (i < total % processes ? 1 : 0);
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/bench/watch-clients.ts"], { cwd: REPO_ROOT, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    children.push({ process: child, count });
  }
  return children;
}

function nextMessage<T extends ChildMessage["type"]>(child: ChildProcess, type: T, timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off("message", onMessage);
      reject(new Error(`no ${type} from a watcher process within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: ChildMessage) => {
      if (message.type === "failed") {
        clearTimeout(timer);
        child.off("message", onMessage);
        reject(new Error(`a watcher process failed: ${message.message}`));
      } else if (message.type === type) {
        clearTimeout(timer);
        child.off("message", onMessage);
        resolve(message as Extract<ChildMessage, { type: T }>);
      }
    };
    child.on("message", onMessage);
  });
}

/**
 * `watchers` SSE connections to B (spread over `processes` client processes), then deploys on A,
 * one at a time: each waits until every watcher has the event (or 5 s), so the figure is the
 * latency of one change reaching the whole fleet, not of a queue of changes. Two phases: the
 * `sets` deploys are timed; then the `checkedSets` deploys run with the stale-read checks on
 * (their resolves hit B while it fans out, so they are kept out of the timed phase).
 */
export async function benchPropagation(
  a: SpawnedServer,
  b: SpawnedServer,
  env: string,
  options: { watchers: number; processes: number; sets: string[]; checkedSets: string[]; checkersPerProcess: number },
): Promise<PropagationResult> {
  const initial = (await (await api(a, "GET", envPath(env))).json()) as { active: string; revision: number };
  const revisionOfSet = new Map<string, number>([[initial.active, initial.revision]]);
  const rssBeforeMiB = await rssMiB(b.child.pid!);
  const children = startChildren(options.watchers, options.processes);
  const completes = new Map<number, number>();
  const checks: Array<Extract<ChildMessage, { type: "check" }>> = [];
  for (const child of children) {
    child.process.on("message", (m: ChildMessage) => {
      if (m.type === "complete") completes.set(m.revision, (completes.get(m.revision) ?? 0) + 1);
      if (m.type === "check") checks.push(m);
    });
  }
  try {
    const connectStarted = nowMs();
    const ready = children.map((c) => nextMessage(c.process, "ready", 180_000));
    for (const child of children) {
      const start: StartMessage = {
        type: "start",
        watchUrl: `${b.url}${envPath(env, "/watch")}`,
        resolveUrl: `${b.url}${envPath(env, "/resolve")}`,
        token: TOKEN,
        count: child.count,
        checkers: options.checkersPerProcess,
      };
      child.process.send(start);
    }
    await Promise.all(ready);
    const connectSeconds = (nowMs() - connectStarted) / 1000;
    const rssWithWatchersMiB = await rssMiB(b.child.pid!);

    const sentAt = new Map<number, number>();
    const deployTimes: number[] = [];
    const runDeploys = async (sets: string[], timed: boolean) => {
      for (const set of sets) {
        const started = nowMs();
        const revision = await deploy(a, env, set);
        revisionOfSet.set(set, revision);
        if (timed) {
          deployTimes.push(nowMs() - started);
          sentAt.set(revision, started);
        }
        const deadline = nowMs() + 5_000;
        while ((completes.get(revision) ?? 0) < children.length && nowMs() < deadline) await new Promise((r) => setTimeout(r, 2));
        // Room for the stale-read checks of this revision to come back before the next change.
        await new Promise((r) => setTimeout(r, timed ? 20 : 50));
      }
    };
    await runDeploys(options.sets, true);
    for (const child of children) child.process.send({ type: "checking", on: true });
    await runDeploys(options.checkedSets, false);

    // Every checker resolves once per deploy; wait for the answers (B may be busy fanning out).
    const expectedChecks = options.checkedSets.length * children.reduce((n, c) => n + Math.min(options.checkersPerProcess, c.count), 0);
    const checksDeadline = nowMs() + 10_000;
    while (checks.length < expectedChecks && nowMs() < checksDeadline) await new Promise((r) => setTimeout(r, 10));

    const latencies: number[] = [];
    const firstByRevision = new Map<number, number>();
    let missing = 0;
    let outOfOrder = 0;
    let dropped = 0;
    for (const child of children) {
      const collected = nextMessage(child.process, "arrivals", 60_000);
      child.process.send({ type: "collect" });
      const report = await collected;
      outOfOrder += report.outOfOrder;
      dropped += report.dropped;
      for (const [revision, started] of sentAt) {
        const times = report.arrivals[revision] ?? [];
        missing += child.count - times.length;
        for (const at of times) {
          latencies.push(at - started);
          firstByRevision.set(revision, Math.min(firstByRevision.get(revision) ?? Number.POSITIVE_INFINITY, at - started));
        }
      }
    }
    const stale = checks.filter((c) => c.status !== 200 || (revisionOfSet.get(c.resolved ?? "") ?? -1) < c.revision);
    const staleCauses = { statuses: {} as Record<string, number>, markedStale: stale.filter((c) => c.status === 200 && c.stale).length };
    for (const c of stale) if (c.status !== 200) staleCauses.statuses[c.status] = (staleCauses.statuses[c.status] ?? 0) + 1;
    return {
      watchers: options.watchers,
      processes: options.processes,
      deploys: options.sets.length,
      checkedDeploys: options.checkedSets.length,
      latency: summarize(latencies),
      first: summarize([...firstByRevision.values()]),
      deployRequest: summarize(deployTimes),
      missing,
      outOfOrder,
      dropped,
      checks: checks.length,
      staleReads: stale.length,
      staleCauses,
      rssBeforeMiB,
      rssWithWatchersMiB,
      connectSeconds,
    };
  } finally {
    for (const child of children) {
      if (child.process.connected) child.process.send({ type: "stop" });
      else child.process.kill();
    }
    await Promise.all(children.map((c) => (c.process.exitCode === null ? new Promise((r) => c.process.once("exit", r)) : undefined)));
  }
}
