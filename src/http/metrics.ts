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
  const http = new HttpRequestMetrics(registry);
  const blobBytesIn = new Counter({ name: "pinset_blob_bytes_in_total", help: "Blob bytes received", registers: [registry] });
  const blobBytesOut = new Counter({ name: "pinset_blob_bytes_out_total", help: "Blob bytes sent", registers: [registry] });
  return { registry, http, blobBytesIn, blobBytesOut };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** What records a finished request: the HTTP request metrics (request-series.ts). */
export type RequestRecorder = Pick<HttpRequestMetrics, "bound" | "record">;

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
