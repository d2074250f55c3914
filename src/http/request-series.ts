import type { Registry } from "prom-client";

/**
 * The two metrics every answered request updates — `pinset_http_requests_total` (method, route,
 * status) and `pinset_http_request_duration_seconds` (method, route) — kept as plain counters
 * per series and handed to prom-client's registry in its own shape when scraped, so `/metrics`
 * writes them as prom-client would, byte for byte (the unit test compares both).
 *
 * Why not prom-client's Counter and Histogram: each update there checks the label names and
 * builds a key string from the label values before it adds anything — about 10 µs of CPU per
 * request in the routes bench, more than the rest of the request's accounting together. Here a
 * request's series is found once per (method, route, status) and updated with a few additions.
 */

export const REQUEST_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10] as const;

type CountLabels = {
  method: string;
  route: string;
  status: string;
};

/** One (method, route) duration histogram: per-bucket counts (not cumulative), sum and count. */
class DurationSeries {
  readonly buckets = new Float64Array(REQUEST_DURATION_BUCKETS.length);
  sum = 0;
  count = 0;

  constructor(readonly labels: { method: string; route: string }) {}

  observe(seconds: number): void {
    // prom-client's rule: the first bucket whose bound is >= the value; above the last, only +Inf.
    let i = 0;
    while (i < REQUEST_DURATION_BUCKETS.length && seconds > REQUEST_DURATION_BUCKETS[i]!) i++;
    if (i < REQUEST_DURATION_BUCKETS.length) this.buckets[i]!++;
    this.sum += seconds;
    this.count++;
  }
}

/** What one request updates: its (method, route, status) count and its (method, route) histogram. */
export class RequestSeries {
  count = 0;

  constructor(
    readonly labels: CountLabels,
    private readonly duration: DurationSeries,
  ) {}

  record(seconds: number): void {
    if (!Number.isFinite(seconds)) throw new TypeError(`Value is not a valid number: ${seconds}`);
    this.count++;
    this.duration.observe(seconds);
  }
}

/** One line of a scrape as prom-client's Registry formats it: `metricName{labels,sharedLabels} value`. */
export interface ScrapedValue {
  value: number;
  labels: Readonly<Record<string, string | number>>;
  sharedLabels?: Readonly<Record<string, string>>;
  metricName?: string;
}

export interface ScrapedMetric {
  name: string;
  help: string;
  type: "counter" | "histogram";
  aggregator: "sum";
  values: ScrapedValue[];
}

/** A metric in the shape prom-client's Registry reads (name, help, type, get, reset). */
export interface RegisteredMetric {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "histogram";
  readonly aggregator: "sum";
  get(): Promise<ScrapedMetric>;
  reset(): void;
}

/**
 * Records finished requests by method, route template and status. Labels use the route template
 * (`/v1/projects/:project/…`), never the raw path: bounded cardinality.
 */
export class HttpRequestMetrics {
  private readonly requests = new Map<string, RequestSeries>();
  private readonly durations = new Map<string, DurationSeries>();
  /** Exposed for tests and scrapes: the count metric (`get()` as prom-client's Counter answers it). */
  readonly httpRequests: RegisteredMetric;
  readonly httpDuration: RegisteredMetric;

  constructor(registry: Registry) {
    const requests = this.requests;
    const durations = this.durations;
    this.httpRequests = {
      name: "pinset_http_requests_total",
      help: "HTTP requests by method, route template and status",
      type: "counter",
      aggregator: "sum",
      async get() {
        const values = [...requests.values()].map((s) => ({ value: s.count, labels: s.labels }));
        return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
      },
      reset: () => this.reset(),
    };
    this.httpDuration = {
      name: "pinset_http_request_duration_seconds",
      help: "HTTP request latency by method and route template",
      type: "histogram",
      aggregator: "sum",
      async get() {
        const values: ScrapedValue[] = [];
        for (const s of durations.values()) {
          const bucket = `${this.name}_bucket`;
          let cumulative = 0;
          REQUEST_DURATION_BUCKETS.forEach((le, i) => {
            cumulative += s.buckets[i]!;
            values.push({ labels: { le }, sharedLabels: s.labels, value: cumulative, metricName: bucket });
          });
          values.push({ labels: { le: "+Inf" }, sharedLabels: s.labels, value: s.count, metricName: bucket });
          values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
          values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` });
        }
        return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
      },
      reset: () => this.reset(),
    };
    // The registry's public entry for metrics of its shape (prom-client's own metrics register themselves through it).
    registry.registerMetric(this.httpRequests as unknown as Parameters<Registry["registerMetric"]>[0]);
    registry.registerMetric(this.httpDuration as unknown as Parameters<Registry["registerMetric"]>[0]);
  }

  /** A recorder bound to one method, route template and status: no lookup per request. */
  bound(method: string, route: string, status: number): (seconds: number) => void {
    const series = this.series(method, route, status);
    return (seconds) => series.record(seconds);
  }

  /** Records one finished request under its method, route template and status. */
  record(method: string, route: string, status: number, seconds: number): void {
    this.series(method, route, status).record(seconds);
  }

  /** The series of one (method, route template, status): look it up once, record many times. */
  series(method: string, route: string, status: number): RequestSeries {
    const key = `${method} ${status} ${route}`;
    let series = this.requests.get(key);
    if (!series) {
      const durationKey = `${method} ${route}`;
      let duration = this.durations.get(durationKey);
      if (!duration) {
        duration = new DurationSeries({ method, route });
        this.durations.set(durationKey, duration);
      }
      series = new RequestSeries({ method, route, status: String(status) }, duration);
      this.requests.set(key, series);
    }
    return series;
  }

  /** Zeroes every series in place: recorders bound to one keep counting into it. */
  private reset(): void {
    for (const s of this.requests.values()) s.count = 0;
    for (const d of this.durations.values()) {
      d.buckets.fill(0);
      d.sum = 0;
      d.count = 0;
    }
  }
}
