import type { Request, Response } from "express";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { stateOf } from "./context.js";

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
 * Records finished requests by method, route template and status. Labels use the route template
 * (`/v1/projects/:project/…`), never the raw path: bounded cardinality. The label objects of each
 * method, route and status are built once and reused (prom-client still hashes them on every update).
 */
export class RequestRecorder {
  private readonly labels = new Map<string, RouteLabels>();

  constructor(private readonly metrics: Metrics) {}

  /** A recorder bound to one method, route and status: no lookup per request. */
  bound(method: string, route: string, status: number): (seconds: number) => void {
    const labels = this.labelsOf(method, route, status);
    return (seconds) => this.count(labels, seconds);
  }

  record(method: string, route: string, status: number, seconds: number): void {
    this.count(this.labelsOf(method, route, status), seconds);
  }

  private count(labels: RouteLabels, seconds: number): void {
    this.metrics.httpRequests.inc(labels.count);
    this.metrics.httpDuration.observe(labels.duration, seconds);
  }

  private labelsOf(method: string, route: string, status: number): RouteLabels {
    const key = `${method} ${status} ${route}`;
    let labels = this.labels.get(key);
    if (!labels) {
      labels = { count: { method, route, status: String(status) }, duration: { method, route } };
      this.labels.set(key, labels);
    }
    return labels;
  }
}

/**
 * Records a request express answered, under its matched route's template ("unmatched" for none).
 * The template noted while routing (mountRoutes) comes first: by the time an error's answer ends,
 * express has left the router and `req.baseUrl` no longer holds the `/v1` prefix.
 */
export function requestMetrics(recorder: RequestRecorder): (req: Request, res: Response, status: number, seconds: number) => void {
  return (req, res, status, seconds) => {
    const route = stateOf(res).route ?? (req.route ? `${req.baseUrl}${String(req.route.path)}` : "unmatched");
    recorder.record(req.method, route, status, seconds);
  };
}
