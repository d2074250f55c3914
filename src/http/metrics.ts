import type { Request, Response } from "express";
import { Counter, Registry, collectDefaultMetrics } from "prom-client";
import { stateOf } from "./context.js";
import { HttpRequestMetrics } from "./request-series.js";

/**
 * One registry per app instance (not prom-client's global one), so tests can run several
 * apps in one process and each `/metrics` reports only its own traffic.
 */
export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const requestSeries = new HttpRequestMetrics(registry);
  const { httpRequests, httpDuration } = requestSeries;
  const blobBytesIn = new Counter({ name: "pinset_blob_bytes_in_total", help: "Blob bytes received", registers: [registry] });
  const blobBytesOut = new Counter({ name: "pinset_blob_bytes_out_total", help: "Blob bytes sent", registers: [registry] });
  return { registry, httpRequests, httpDuration, requestSeries, blobBytesIn, blobBytesOut };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Records finished requests by method, route template and status. Labels use the route template
 * (`/v1/projects/:project/…`), never the raw path: bounded cardinality.
 */
export class RequestRecorder {
  constructor(private readonly metrics: Metrics) {}

  /** A recorder bound to one method, route and status: no lookup per request. */
  bound(method: string, route: string, status: number): (seconds: number) => void {
    const series = this.metrics.requestSeries.series(method, route, status);
    return (seconds) => series.record(seconds);
  }

  record(method: string, route: string, status: number, seconds: number): void {
    this.metrics.requestSeries.series(method, route, status).record(seconds);
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
