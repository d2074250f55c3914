/**
 * The runtime metrics Pinset's default queries assume, and those queries (docs/observability.md
 * is their user-facing description; test/support/llm-exporter.ts serves exactly these names).
 *
 *   RUNTIME_METRICS   name → type, labels and meaning, for docs, the exporter and the dashboard test
 *   DEFAULT_QUERIES   the `queries` an analysis config gets when it names none
 *
 * Every series carries `version_set` (the id the runtime's resolver returned for the request),
 * and every label combination is created at 0 when the runtime first learns a version set:
 * Prometheus' increase() cannot see the first increment of a series that is born at 1, and a
 * risk event must never be missed.
 *
 * The sample forms come from counters alone:
 *   success rate   count = success requests, trials = all requests
 *   p95            the cumulative buckets of a millisecond histogram, summed by le
 *   tokens         mean = Σ tokens / requests; stddev = √(Σ tokens² / requests − mean²), exact
 *                  because the runtime also counts the squares (llm_tokens_squared_total)
 *   risk counts    events of each kind, as the exact difference of the counter between the
 *                  window's ends: (x − x offset w) per series, or x itself for a series born in
 *                  the window or reset by a restart. Not increase(): it only sees increments
 *                  between two samples inside the window, so an event that lands between the
 *                  last scrape of one window and the first of the next is in neither — about
 *                  one event in (window / scrape interval) would go unseen, and any event stops
 *                  a rollout. Consecutive windows of the difference chain without gap or overlap.
 */
import type { Queries } from "./queries.js";

export interface RuntimeMetric {
  type: "counter" | "histogram";
  labels: readonly string[];
  help: string;
}

export const RUNTIME_METRICS = {
  llm_requests_total: {
    type: "counter",
    labels: ["version_set", "outcome"],
    help: 'Requests served, by outcome: "success" (a usable answer), "failure" (an error or a rejected answer), "timeout"',
  },
  llm_request_duration_ms: {
    type: "histogram",
    labels: ["version_set"],
    help: "End-to-end request latency in milliseconds (buckets about 1.25× apart around the p95)",
  },
  llm_tokens_total: {
    type: "counter",
    labels: ["version_set", "direction"],
    help: 'Tokens used, by direction: "in" (prompt) and "out" (completion)',
  },
  llm_tokens_squared_total: {
    type: "counter",
    labels: ["version_set"],
    help: "Sum over requests of (tokens in + tokens out)²: with llm_tokens_total it gives the exact standard deviation",
  },
  llm_risk_events_total: {
    type: "counter",
    labels: ["version_set", "kind"],
    help: 'Risk events, by kind: "injection" (a prompt injection that succeeded), "unauthorized_tool_call", "pii_leak"',
  },
  llm_segment_requests_total: {
    type: "counter",
    labels: ["version_set", "segment"],
    help: 'Requests that fell in a named segment ("attack", "long_context", "high_cost", …); a request may count in several',
  },
} as const satisfies Record<string, RuntimeMetric>;

export type RuntimeMetricName = keyof typeof RUNTIME_METRICS;

/** The names Prometheus stores for a runtime metric (a histogram has three series families). */
export function runtimeSeriesNames(): string[] {
  return Object.entries(RUNTIME_METRICS).flatMap(([name, m]) =>
    m.type === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name],
  );
}

const VS = 'version_set="{{version_set}}"';
const requests = `sum(increase(llm_requests_total{${VS}}[{{window}}]))`;
const outcome = (name: string) => `sum(increase(llm_requests_total{outcome="${name}",${VS}}[{{window}}]))`;
const tokens = `sum(increase(llm_tokens_total{${VS}}[{{window}}]))`;
const squares = `sum(increase(llm_tokens_squared_total{${VS}}[{{window}}]))`;
const risk = (kind: string) => {
  const series = `llm_risk_events_total{kind="${kind}",${VS}}`;
  return `sum(((${series} - ${series} offset {{window}}) >= 0) or ${series})`;
};

const defaults: Queries = {
  "quality.success_rate": { count: outcome("success"), trials: requests },
  "latency.p95_ms": { buckets: `sum by (le) (increase(llm_request_duration_ms_bucket{${VS}}[{{window}}]))` },
  "latency.timeout_rate": { count: outcome("timeout"), trials: requests },
  "cost.tokens_per_request": {
    mean: `${tokens} / ${requests}`,
    stddev: `sqrt(clamp_min(${squares} / ${requests} - (${tokens} / ${requests}) ^ 2, 0))`,
    count: requests,
  },
  "risk.injection_success": risk("injection"),
  "risk.unauthorized_tool_calls": risk("unauthorized_tool_call"),
  "risk.pii_leaks": risk("pii_leak"),
  requests,
};
for (const spec of Object.values(defaults)) if (typeof spec === "object") Object.freeze(spec);

export const DEFAULT_QUERIES: Readonly<Queries> = Object.freeze(defaults);
