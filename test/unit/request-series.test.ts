import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { HttpRequestMetrics, REQUEST_DURATION_BUCKETS } from "../../src/http/request-series.js";

/** prom-client's own Counter and Histogram, declared as the registry declared them before. */
function promClientPair() {
  const registry = new Registry();
  const counter = new Counter({ name: "pinset_http_requests_total", help: "HTTP requests by method, route template and status", labelNames: ["method", "route", "status"] as const, registers: [registry] });
  const histogram = new Histogram({ name: "pinset_http_request_duration_seconds", help: "HTTP request latency by method and route template", labelNames: ["method", "route"] as const, buckets: [...REQUEST_DURATION_BUCKETS], registers: [registry] });
  return {
    registry,
    record(method: string, route: string, status: number, seconds: number) {
      counter.inc({ method, route, status: String(status) });
      histogram.observe({ method, route }, seconds);
    },
  };
}

const observations: Array<[string, string, number, number]> = [
  ["GET", "/v1/projects/:project/diff", 200, 0.0003],
  ["GET", "/v1/projects/:project/environments/:env/resolve", 200, 0.001], // exactly on a bound
  ["GET", "/v1/projects/:project/diff", 404, 0.002], // its own count, the same histogram (method, route)
  ["POST", "/v1/projects/:project/version-sets", 201, 0.04],
  ["GET", "/v1/projects/:project/diff", 200, 11], // above the last bound: +Inf only
  ["GET", "/v1/projects/:project/environments/:env/resolve", 304, 0],
  ["GET", 'unmatched "odd" \\ route\nline', 404, 0.5],
  ["GET", "/v1/projects/:project/diff", 200, 0.25],
];

describe("HTTP request metrics", () => {
  it("scrape exactly as prom-client's Counter and Histogram would, series in first-seen order", async () => {
    const ours = new Registry();
    const metrics = new HttpRequestMetrics(ours);
    const theirs = promClientPair();
    for (const [method, route, status, seconds] of observations) {
      metrics.series(method, route, status).record(seconds);
      theirs.record(method, route, status, seconds);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.registry.metrics());
    expect(text).toContain('pinset_http_requests_total{method="GET",route="/v1/projects/:project/diff",status="200"} 3');
    expect(text).toContain('pinset_http_request_duration_seconds_bucket{le="10",method="GET",route="/v1/projects/:project/diff"} 3');
    expect(text).toContain('pinset_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/v1/projects/:project/diff"} 4');
  });

  it("answers get() as prom-client's counter does (what tests and the JSON scrape read)", async () => {
    const metrics = new HttpRequestMetrics(new Registry());
    const bound = metrics.series("GET", "/r", 200);
    bound.record(0.1);
    bound.record(0.2);
    metrics.series("GET", "/r", 200).record(0.3);
    const { values } = await metrics.httpRequests.get();
    expect(values).toEqual([{ value: 3, labels: { method: "GET", route: "/r", status: "200" } }]);
  });

  it("refuses a duration that is not a finite number, as prom-client does, and counts nothing for it", async () => {
    const metrics = new HttpRequestMetrics(new Registry());
    const series = metrics.series("GET", "/r", 200);
    expect(() => series.record(Number.NaN)).toThrow(TypeError);
    expect(series.count).toBe(0);
  });

  it("resets in place: a series bound before the reset counts on after it", async () => {
    const registry = new Registry();
    const metrics = new HttpRequestMetrics(registry);
    const series = metrics.series("GET", "/r", 200);
    series.record(0.1);
    registry.resetMetrics();
    series.record(0.2);
    const text = await registry.metrics();
    expect(text).toContain('pinset_http_requests_total{method="GET",route="/r",status="200"} 1');
    expect(text).toContain('pinset_http_request_duration_seconds_sum{method="GET",route="/r"} 0.2');
  });
});
