/**
 * `resolve?subject=` during a rollout against plain `resolve`, both on one in-process registry
 * (embedded PGlite, filesystem blobs), with autocannon in a worker thread.
 *
 *   npx tsx scripts/bench-resolve-subject.ts [--seconds 5] [--rounds 3] [--connections 10]
 *
 * The rollout runs at 10 %; the requests cycle through 2 000 subjects (`u-<n>`), so the
 * assignment hash runs for each request (nothing is kept per subject) and both sides' bundles
 * are served. The subject requests are built once, like the plain ones: a per-request hook that
 * rebuilt each request cost autocannon (on the same two cores) enough to halve the ratio on a
 * loaded machine, measuring the client rather than the registry. Rounds alternate between the two URLs
 * (so drift of the shared machine hits both); the median round counts. Both are answered by
 * the fast lane (http/fast-lane.ts) once the caches are warm; target: ratio ≥ 0.70. While the subject
 * rounds run, the rollout and environment reads are counted: with the caches warm they are
 * the TTL re-reads only (one each per second per environment), not one per request.
 */
import { createServer } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createApp } from "../src/app.js";
import { ensureAdminToken } from "../src/auth/bootstrap-admin.js";
import { KyselyTokenStore } from "../src/auth/token-store.js";
import { FsBlobStore } from "../src/blobs/fs.js";
import { connectPglite } from "../src/db/connect.js";
import { migrateToLatest } from "../src/db/migrate.js";
import { createLogger } from "../src/logger.js";

/** The part of autocannon's API used here (it ships no types; loaded with require so none are needed). */
interface LoadResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  workers?: number;
  headers: Record<string, string>;
  /** Each connection sends these in turn (each built once), looping. */
  requests?: Array<{ path: string }>;
}) => Promise<LoadResult>;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const TOKEN = "bench-subject-admin-token-0123456789";
const SUBJECTS = 2_000;

export interface ResolveSubjectResult {
  withoutSubjectRps: number;
  withoutSubjectP99Ms: number;
  withSubjectRps: number;
  withSubjectP99Ms: number;
  ratio: number;
  candidateShare: number;
  /** Rollout + environment reads per second during the subject rounds (TTL re-reads). */
  readsPerSecond: number;
  requestsPerRead: number;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function runResolveSubjectBench(options: { quick?: boolean; seconds?: number; rounds?: number; connections?: number } = {}): Promise<ResolveSubjectResult> {
  const seconds = options.seconds ?? (options.quick ? 2 : 5);
  const rounds = options.rounds ?? (options.quick ? 1 : 3);
  const connections = options.connections ?? 10;

  const dir = await mkdtemp(path.join(tmpdir(), "pinset-bench-subject-"));
  const database = await connectPglite({});
  await migrateToLatest(database.db);
  await ensureAdminToken({ tokens: new KyselyTokenStore(database.db), adminToken: TOKEN, dataDir: dir });
  const pinset = createApp({
    db: database.db,
    blobStore: new FsBlobStore(path.join(dir, "blobs")),
    logger: createLogger({ level: "warn" }),
    config: { limits: { maxJsonBytes: 10 * 1024 * 1024, maxBlobBytes: 1024 * 1024 } },
  });
  const server = createServer(pinset.listener).listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const headers = { authorization: `Bearer ${TOKEN}` };
  const call = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${base}${p}`, {
      method,
      headers: { ...headers, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (res.status >= 300) throw new Error(`${method} ${p} answered ${res.status}: ${await res.text()}`);
    return res.json() as Promise<Record<string, unknown>>;
  };

  try {
    await call("PUT", "/v1/projects/bench");
    const sets: string[] = [];
    for (const model of ["m-stable", "m-candidate"]) {
      await call("POST", "/v1/projects/bench/artifacts/model/main", { content: { provider: "openai", model } });
      await call("POST", "/v1/projects/bench/artifacts/prompt/system", { content: { template: `You are ${model}. Answer {{question}}.`, variables: ["question"] } });
      const set = await call("POST", "/v1/projects/bench/version-sets", { components: { model: "model/main@latest", "prompt.system": "prompt/system@latest" } });
      sets.push(set.id as string);
    }
    await call("PUT", "/v1/projects/bench/environments/prod", {});
    await call("POST", "/v1/projects/bench/environments/prod/deploy", { version_set: sets[0] });
    await call("PUT", "/v1/projects/bench/environments/prod/rollout", { candidate: sets[1], percent: 10, allow: ["qa"] });

    const resolveUrl = `${base}/v1/projects/bench/environments/prod/resolve`;
    const plain = () => autocannon({ url: resolveUrl, connections, duration: seconds, workers: 1, headers });
    const subjectRequests = Array.from({ length: SUBJECTS }, (_, n) => ({ path: `/v1/projects/bench/environments/prod/resolve?subject=u-${n}` }));
    const withSubject = (duration: number) => autocannon({ url: resolveUrl, connections, duration, workers: 1, headers, requests: subjectRequests });
    const checked = (r: LoadResult, what: string): LoadResult => {
      if (r.errors > 0 || r.timeouts > 0 || r.non2xx > 0) throw new Error(`${what}: ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx`);
      return r;
    };

    let candidates = 0;
    for (let i = 0; i < 1000; i++) {
      const res = await fetch(`${resolveUrl}?subject=warm-${i}`, { headers });
      await res.arrayBuffer();
      if (res.headers.get("x-pinset-assignment") === "candidate") candidates++;
    }

    const { rolloutStores, environmentStore } = pinset.services;
    let reads = 0;
    const live = rolloutStores.rollouts.live.bind(rolloutStores.rollouts);
    const findActive = environmentStore.findActive.bind(environmentStore);
    const without: LoadResult[] = [];
    const withSubj: LoadResult[] = [];
    let subjectRequestCount = 0;
    let subjectSeconds = 0;
    for (let round = 0; round < rounds; round++) {
      checked(await autocannon({ url: resolveUrl, connections, duration: 1, workers: 1, headers }), "warm-up");
      without.push(checked(await plain(), "resolve"));
      checked(await withSubject(1), "warm-up with subject");
      rolloutStores.rollouts.live = (...args) => (reads++, live(...args));
      environmentStore.findActive = (...args) => (reads++, findActive(...args));
      const started = performance.now();
      const r = checked(await withSubject(seconds), "resolve?subject=");
      subjectSeconds += (performance.now() - started) / 1000;
      rolloutStores.rollouts.live = live;
      environmentStore.findActive = findActive;
      subjectRequestCount += r.requests.average * seconds;
      withSubj.push(r);
    }

    const withoutRps = median(without.map((r) => r.requests.average));
    const withRps = median(withSubj.map((r) => r.requests.average));
    return {
      withoutSubjectRps: withoutRps,
      withoutSubjectP99Ms: median(without.map((r) => r.latency.p99)),
      withSubjectRps: withRps,
      withSubjectP99Ms: median(withSubj.map((r) => r.latency.p99)),
      ratio: withRps / withoutRps,
      candidateShare: candidates / 1000,
      readsPerSecond: reads / subjectSeconds,
      requestsPerRead: reads === 0 ? subjectRequestCount : subjectRequestCount / reads,
    };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await database.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { seconds: { type: "string" }, rounds: { type: "string" }, connections: { type: "string" }, quick: { type: "boolean", default: false } } });
  const r = await runResolveSubjectBench({
    quick: values.quick,
    ...(values.seconds ? { seconds: Number(values.seconds) } : {}),
    ...(values.rounds ? { rounds: Number(values.rounds) } : {}),
    ...(values.connections ? { connections: Number(values.connections) } : {}),
  });
  console.log("resolve during a 10 % rollout (in-process registry on PGlite, autocannon in a worker thread)");
  console.log(`  GET …/resolve                 ${r.withoutSubjectRps.toFixed(0)} req/s   p99 ${r.withoutSubjectP99Ms} ms`);
  console.log(`  GET …/resolve?subject=u-<n>   ${r.withSubjectRps.toFixed(0)} req/s   p99 ${r.withSubjectP99Ms} ms   (ratio ${r.ratio.toFixed(2)})`);
  console.log(`  candidate share over 1000 subjects: ${(r.candidateShare * 100).toFixed(1)} %`);
  console.log(`  rollout + environment reads during the subject rounds: ${r.readsPerSecond.toFixed(2)}/s (one per ${r.requestsPerRead.toFixed(0)} requests)`);
}
