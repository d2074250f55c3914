import type { Request, Response } from "express";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { HOT_ROUTE } from "./hot-routes.js";

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

interface RouteLabels {
  count: { method: string; route: string; status: string };
  duration: { method: string; route: string };
}

/**
 * Records a finished request. Labels use the route template (`/v1/projects/:project/…`), never
 * the raw path: bounded cardinality. The label objects of each method, route and status are
 * built once and reused (prom-client still hashes them on every update).
 */
export function requestMetrics(metrics: Metrics): (req: Request, res: Response, seconds: number) => void {
  const cache = new Map<string, RouteLabels>();
  return (req, res, seconds) => {
    const route = (req as { [HOT_ROUTE]?: string })[HOT_ROUTE] ?? (req.route ? `${req.baseUrl}${String(req.route.path)}` : "unmatched");
    const key = `${req.method} ${res.statusCode} ${route}`;
    let labels = cache.get(key);
    if (!labels) {
      const status = String(res.statusCode);
      labels = { count: { method: req.method, route, status }, duration: { method: req.method, route } };
      cache.set(key, labels);
    }
    metrics.httpRequests.inc(labels.count);
    metrics.httpDuration.observe(labels.duration, seconds);
  };
}
