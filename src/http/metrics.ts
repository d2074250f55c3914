import type { RequestHandler } from "express";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * One registry per app instance (not prom-client's global one), so tests can run several
 * apps in one process and each `/metrics` reports only its own traffic.
 */
export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const httpRequests = new Counter({
    name: "pinset_http_requests_total",
    help: "HTTP requests by method, route template and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: "pinset_http_request_duration_seconds",
    help: "HTTP request latency by method and route template",
    labelNames: ["method", "route"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const blobBytesIn = new Counter({ name: "pinset_blob_bytes_in_total", help: "Blob bytes received", registers: [registry] });
  const blobBytesOut = new Counter({ name: "pinset_blob_bytes_out_total", help: "Blob bytes sent", registers: [registry] });
  return { registry, httpRequests, httpDuration, blobBytesIn, blobBytesOut };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Labels use the route template (`/v1/projects/:project/…`), never the raw path: bounded cardinality. */
export function metricsMiddleware(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.on("finish", () => {
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : "unmatched";
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      metrics.httpDuration.observe({ method: req.method, route }, seconds);
    });
    next();
  };
}
