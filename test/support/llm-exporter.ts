/**
 * A stand-in LLM runtime for tests: simulated traffic per version set, instrumented with
 * prom-client exactly as docs/observability.md recommends (RUNTIME_METRICS of
 * src/analysis/default-queries.ts), served at /metrics for a real Prometheus to scrape.
 *
 *   const ex = await startLlmExporter({ seed: 7 });
 *   ex.serve("vs_good", { requestsPerSecond: 500 });          starts (or re-steers) a set's traffic
 *   ex.serve("vs_bad", { successRate: 0.8 });                 unspecified fields keep their value
 *   ex.riskEvent("vs_bad", "injection");                      one event, now
 *   ex.target                                                 "127.0.0.1:<port>" for the scrape config
 *   ex.served("vs_good")                                      requests simulated so far
 *   await ex.close();
 *
 * Traffic advances on a 100 ms timer by the real elapsed time (carrying fractions), so
 * Prometheus sees counters growing at the configured rate. Each request draws its outcome
 * (timeout, success, failure), a log-normal latency, a normal token count (70 % in, 30 % out)
 * and its segments from a seeded generator. Every label combination is created at 0 when a set
 * is first served, as a runtime should.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, Histogram, Registry, exponentialBuckets } from "prom-client";
import { RUNTIME_METRICS } from "../../src/analysis/default-queries.js";

export interface TrafficProfile {
  requestsPerSecond: number;
  /** Share of requests with outcome "success"; the rest are failures or timeouts. */
  successRate: number;
  timeoutRate: number;
  latencyMedianMs: number;
  /** σ of ln(latency). */
  latencySigma: number;
  tokensMean: number;
  tokensStddev: number;
  /** Share of requests in each named segment. */
  segments: Record<string, number>;
}

export const DEFAULT_PROFILE: TrafficProfile = {
  requestsPerSecond: 400,
  successRate: 0.9,
  timeoutRate: 0.002,
  latencyMedianMs: 400,
  latencySigma: 0.35,
  tokensMean: 600,
  tokensStddev: 120,
  segments: {},
};

export const RISK_KINDS = ["injection", "unauthorized_tool_call", "pii_leak"] as const;
export type RiskKind = (typeof RISK_KINDS)[number];

/** The buckets docs/observability.md recommends: 50 ms × 1.25ⁱ, about 1.25× apart up to ~8.5 s. */
export const LATENCY_BUCKETS_MS = exponentialBuckets(50, 1.25, 24);

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface LlmExporter {
  target: string;
  registry: Registry;
  serve(versionSet: string, profile?: Partial<TrafficProfile>): void;
  riskEvent(versionSet: string, kind: RiskKind, count?: number): void;
  served(versionSet: string): number;
  close(): Promise<void>;
}

export async function startLlmExporter(options: { seed?: number; tickMs?: number } = {}): Promise<LlmExporter> {
  const random = mulberry32(options.seed ?? 1);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const registry = new Registry();
  const m = RUNTIME_METRICS;
  const requests = new Counter({ name: "llm_requests_total", help: m.llm_requests_total.help, labelNames: m.llm_requests_total.labels, registers: [registry] });
  const duration = new Histogram({ name: "llm_request_duration_ms", help: m.llm_request_duration_ms.help, labelNames: m.llm_request_duration_ms.labels, buckets: LATENCY_BUCKETS_MS, registers: [registry] });
  const tokens = new Counter({ name: "llm_tokens_total", help: m.llm_tokens_total.help, labelNames: m.llm_tokens_total.labels, registers: [registry] });
  const squares = new Counter({ name: "llm_tokens_squared_total", help: m.llm_tokens_squared_total.help, labelNames: m.llm_tokens_squared_total.labels, registers: [registry] });
  const risk = new Counter({ name: "llm_risk_events_total", help: m.llm_risk_events_total.help, labelNames: m.llm_risk_events_total.labels, registers: [registry] });
  const segmentRequests = new Counter({ name: "llm_segment_requests_total", help: m.llm_segment_requests_total.help, labelNames: m.llm_segment_requests_total.labels, registers: [registry] });

  const sets = new Map<string, { profile: TrafficProfile; carry: number; served: number }>();
  let last = performance.now();

  const simulate = (version_set: string, p: TrafficProfile) => {
    const u = random();
    const outcome = u < p.timeoutRate ? "timeout" : u < p.timeoutRate + p.successRate ? "success" : "failure";
    requests.inc({ version_set, outcome });
    duration.observe({ version_set }, p.latencyMedianMs * Math.exp(p.latencySigma * normal()));
    const total = Math.max(1, Math.round(p.tokensMean + p.tokensStddev * normal()));
    const tokensIn = Math.round(total * 0.7);
    tokens.inc({ version_set, direction: "in" }, tokensIn);
    tokens.inc({ version_set, direction: "out" }, total - tokensIn);
    squares.inc({ version_set }, total * total);
    for (const [segment, share] of Object.entries(p.segments)) if (random() < share) segmentRequests.inc({ version_set, segment });
  };

  const tick = () => {
    const now = performance.now();
    const seconds = (now - last) / 1000;
    last = now;
    for (const [versionSet, state] of sets) {
      state.carry += state.profile.requestsPerSecond * seconds;
      const n = Math.floor(state.carry);
      state.carry -= n;
      for (let i = 0; i < n; i++) simulate(versionSet, state.profile);
      state.served += n;
    }
  };
  const timer = setInterval(tick, options.tickMs ?? 100);

  const server: Server = createServer((req, res) => {
    if (req.url !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      (error: Error) => res.writeHead(500).end(error.message),
    );
  });
  server.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));

  return {
    target: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    registry,
    serve(versionSet, profile = {}) {
      const existing = sets.get(versionSet);
      if (existing) {
        existing.profile = { ...existing.profile, ...profile };
        for (const segment of Object.keys(existing.profile.segments)) segmentRequests.inc({ version_set: versionSet, segment }, 0);
        return;
      }
      const full = { ...DEFAULT_PROFILE, ...profile };
      for (const outcome of ["success", "failure", "timeout"]) requests.inc({ version_set: versionSet, outcome }, 0);
      duration.zero({ version_set: versionSet });
      for (const direction of ["in", "out"]) tokens.inc({ version_set: versionSet, direction }, 0);
      squares.inc({ version_set: versionSet }, 0);
      for (const kind of RISK_KINDS) risk.inc({ version_set: versionSet, kind }, 0);
      for (const segment of Object.keys(full.segments)) segmentRequests.inc({ version_set: versionSet, segment }, 0);
      sets.set(versionSet, { profile: full, carry: 0, served: 0 });
    },
    riskEvent(versionSet, kind, count = 1) {
      risk.inc({ version_set: versionSet, kind }, count);
    },
    served: (versionSet) => sets.get(versionSet)?.served ?? 0,
    async close() {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
