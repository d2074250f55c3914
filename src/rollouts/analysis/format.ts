/**
 * Numbers as the decision's summaries print them: "2 000", "90.6 %", "−1.1 pt", "1 020 ms",
 * "× 1.15". A true minus sign, a space between thousands, no locale lookups (the bench formats
 * hundreds of thousands of reasons).
 */
import type { MetricName } from "../metric-names.js";

export const MINUS = "\u2212";

/** Trims binary noise (902.0000000000001 → 902) for thresholds. */
export function fmt(value: number): string {
  return String(Number.parseFloat(value.toPrecision(12)));
}

function group(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, " ");
}

/** A count: 18000 → "18 000". */
export function count(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? "∞" : `${MINUS}∞`;
  const rounded = Math.round(n);
  return (rounded < 0 ? MINUS : "") + group(String(Math.abs(rounded)));
}

function signed(text: string, negative: boolean, plus: boolean): string {
  return negative ? `${MINUS}${text}` : plus ? `+${text}` : text;
}

/** A rate as a percent with three significant digits: 0.906 → "90.6 %", 0.00213 → "0.213 %". */
export function percent(rate: number): string {
  const v = rate * 100;
  if (v === 0) return "0 %";
  const text = Math.abs(v) >= 100 ? Math.abs(v).toFixed(0) : Number.parseFloat(Math.abs(v).toPrecision(3)).toString();
  return `${signed(text, v < 0, false)} %`;
}

/**
 * A difference of rates in percentage points, signed: 0.002 → "+0.2 pt"; one decimal from
 * 0.1 pt up, two significant digits below. `unit: false` leaves " pt" off (an interval's low
 * end), `trim` drops a ".0" (a policy line: "−3 pt").
 */
export function points(diff: number, options: { plus?: boolean; unit?: boolean; trim?: boolean } = {}): string {
  const unit = options.unit === false ? "" : " pt";
  if (!Number.isFinite(diff)) return `${diff > 0 ? "+" : MINUS}∞${unit}`;
  const a = Math.abs(diff * 100);
  let text = a >= 0.095 ? a.toFixed(1) : Number.parseFloat(a.toPrecision(2)).toString();
  if (options.trim) text = text.replace(/\.0$/, "");
  const zero = Number.parseFloat(text) === 0;
  return `${signed(zero ? "0" : text, diff < 0 && !zero, (options.plus ?? true) && !zero)}${unit}`;
}

/** Milliseconds, whole: 1020.4 → "1 020 ms"; "∞ ms" when unbounded. */
export function millis(ms: number): string {
  return Number.isFinite(ms) ? `${count(ms)} ms` : "∞ ms";
}

/** A ratio with two decimals (three below 0.1): "1.13"; "∞" when unbounded. */
export function ratio(r: number): string {
  if (!Number.isFinite(r)) return "∞";
  return r >= 0.1 ? r.toFixed(2) : Number.parseFloat(r.toPrecision(2)).toString();
}

/** A plain value of a metric in its unit. */
export function metricValue(metric: MetricName, value: number): string {
  if (metric === "latency.p95_ms") return millis(value);
  if (metric === "cost.tokens_per_request") return `${count(value)} tokens`;
  if (metric.startsWith("risk.")) return `${count(value)} event${value === 1 ? "" : "s"}`;
  return percent(value);
}

export const LABEL: Record<MetricName, string> = {
  "quality.success_rate": "success rate",
  "quality.adoption_rate": "adoption rate",
  "latency.p95_ms": "p95 latency",
  "latency.timeout_rate": "timeout rate",
  "cost.tokens_per_request": "tokens per request",
  "risk.injection_success": "successful injections",
  "risk.unauthorized_tool_calls": "unauthorized tool calls",
  "risk.pii_leaks": "PII leaks",
};

/** "95 %" for 0.95, "99.9 %" for 0.999. */
export function level(confidence: number): string {
  return `${Number.parseFloat((confidence * 100).toPrecision(4))} %`;
}
