/** The metric names on their own, so the analysis modules and metrics.ts (which parses samples with them) need not import each other. */
/** Every metric, in the stable order used for decision reasons. */
export const METRIC_NAMES = [
  "quality.success_rate",
  "quality.adoption_rate",
  "latency.p95_ms",
  "latency.timeout_rate",
  "cost.tokens_per_request",
  "risk.injection_success",
  "risk.unauthorized_tool_calls",
  "risk.pii_leaks",
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];
