import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { PoolBusyError, PoolCrashError, PoolTimeoutError, WorkerPool } from "../../src/schemas/worker-pool.js";

/** A worker speaking the pool's protocol: jobs spin for `ms`, crash, exhaust memory or echo. */
const SCRIPT = `
const { parentPort } = require("node:worker_threads");
parentPort.on("message", ({ id, job }) => {
  if (job.crash) process.exit(3);
  if (job.oom) { const hog = []; for (;;) hog.push(new Array(1e6).fill(job)); }
  if (job.fail) return parentPort.postMessage({ type: "failed", id, message: "bad job" });
  const until = Date.now() + (job.ms ?? 0);
  for (let step = 0; Date.now() < until; step++) if (step % 1e5 === 0) parentPort.postMessage({ type: "progress", id, step: 1 });
  parentPort.postMessage({ type: "done", id, value: { echo: job.value, thread: require("node:worker_threads").threadId } });
});
parentPort.postMessage({ type: "ready" });
`;

interface Job {
  ms?: number;
  value?: unknown;
  crash?: boolean;
  oom?: boolean;
  fail?: boolean;
}

const pools: Array<WorkerPool<Job, { echo: unknown; thread: number }>> = [];
let started = 0;
const lost: string[] = [];

function pool(options: { size?: number; maxQueue?: number; timeoutMs?: number } = {}) {
  const p = new WorkerPool<Job, { echo: unknown; thread: number }>({
    size: options.size ?? 1,
    maxQueue: options.maxQueue ?? 4,
    timeoutMs: options.timeoutMs ?? 5_000,
    spawn: () => {
      started++;
      return new Worker(SCRIPT, { eval: true, resourceLimits: { maxOldGenerationSizeMb: 32 } });
    },
    onWorkerLost: (reason) => lost.push(reason),
  });
  pools.push(p);
  return p;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
  started = 0;
  lost.length = 0;
});

describe("worker pool", () => {
  it("runs jobs off the event loop, starting workers only when work arrives", async () => {
    const p = pool({ size: 2 });
    expect(p.stats()).toEqual({ workers: 0, running: 0, queued: 0 });
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(Date.now()), 10);
    const results = await Promise.all([p.run({ ms: 300, value: 1 }), p.run({ ms: 300, value: 2 })]);
    clearInterval(timer);
    expect(results.map((r) => r.echo)).toEqual([1, 2]);
    expect(new Set(results.map((r) => r.thread)).size).toBe(2);
    expect(started).toBe(2);
    // The event loop kept ticking while both workers spun.
    expect(ticks.length).toBeGreaterThan(10);
  });

  it("terminates a job over its budget, reports its last step, and replaces the worker", async () => {
    const p = pool({ timeoutMs: 200 });
    await p.run({ value: "warm" });
    const slow = p.run({ ms: 60_000 });
    await expect(slow).rejects.toBeInstanceOf(PoolTimeoutError);
    await expect(slow).rejects.toMatchObject({ timeoutMs: 200, lastStep: 1 });
    expect(lost).toEqual(["timeout"]);
    expect(p.stats().workers).toBe(0);
    expect((await p.run({ value: "after" })).echo).toBe("after");
    expect(started).toBe(2);
  });

  it("does not charge a worker's start-up to the job's budget", async () => {
    const p = pool({ timeoutMs: 150 });
    // The first job waits for a worker to load; only its own 100 ms count.
    expect((await p.run({ ms: 100, value: "x" })).echo).toBe("x");
  });

  it("bounds the queue: one job more than maxQueue waiting is refused at once", async () => {
    const p = pool({ size: 1, maxQueue: 2 });
    const running = p.run({ ms: 300, value: "a" });
    const queued = [p.run({ value: "b" }), p.run({ value: "c" })];
    await expect(p.run({ value: "d" })).rejects.toBeInstanceOf(PoolBusyError);
    expect((await running).echo).toBe("a");
    expect((await Promise.all(queued)).map((r) => r.echo)).toEqual(["b", "c"]);
  });

  it("rejects the job of a worker that crashes or runs out of memory, and carries on", async () => {
    const p = pool();
    await expect(p.run({ crash: true })).rejects.toMatchObject({ name: "PoolCrashError", outOfMemory: false });
    const oom = p.run({ oom: true });
    await expect(oom).rejects.toBeInstanceOf(PoolCrashError);
    await expect(oom).rejects.toMatchObject({ outOfMemory: true });
    await expect(p.run({ fail: true })).rejects.toThrow("bad job");
    expect((await p.run({ value: "alive" })).echo).toBe("alive");
  });

  it("fails a waiting job instead of respawning forever when workers cannot start", async () => {
    const p = new WorkerPool<Job, unknown>({ size: 1, maxQueue: 4, timeoutMs: 1_000, spawn: () => new Worker("throw new Error('cannot load')", { eval: true }) });
    pools.push(p as never);
    await expect(p.run({})).rejects.toThrow(/worker failed to start: cannot load/);
  });

  it("close() rejects running and waiting jobs; the pool starts afresh afterwards", async () => {
    const p = pool({ size: 1 });
    const running = p.run({ ms: 10_000 }).catch((e: Error) => e);
    const waiting = p.run({ value: 1 }).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 100));
    await p.close();
    expect(String(await running)).toMatch(/closed/);
    expect(String(await waiting)).toMatch(/closed/);
    expect((await p.run({ value: "again" })).echo).toBe("again");
  });
});
