/**
 * A client for Prometheus' HTTP API instant query (`/api/v1/query`).
 *
 *   const client = createPrometheusClient({ url, method, headers, timeoutMs });
 *   clientFromConfig(config)                   the same from an AnalysisConfig's provider
 *   await client.query({ query, time, signal? })  → { data: ResultData, warnings: string[] }
 *
 * Sends `query`, `time` (unix seconds, ms precision: the window's end) and `timeout` (so
 * Prometheus stops evaluating when we stop waiting) as URL parameters (GET) or a form body
 * (POST, the default: no URL length limit, queries stay out of access logs), with the provider's
 * headers. Everything that is not a success answer throws AnalysisError (errors.ts):
 * unreachable, timeout (AbortSignal.timeout, default 10 s), aborted, http_error, bad_response
 * (not JSON, wrong shape, larger than maxBytes, or a redirect — never followed, since it would
 * carry the headers to another address), query_failed (Prometheus' errorType and error).
 * What the server says is quoted only after the header values are redacted from it.
 */
import type { AnalysisConfig } from "./config.js";
import { AnalysisError } from "./errors.js";
import { queryAnswerSchema, type ResultData } from "./prometheus-response.js";
import { redact, type Secret } from "./secret.js";

export interface InstantQuery {
  query: string;
  /** Evaluation time: the window's end. */
  time: Date;
  /** The caller's cancellation (shutdown); the time-out is the client's own. */
  signal?: AbortSignal;
}

export interface QueryResult {
  data: ResultData;
  /** Prometheus' warnings and infos: the data is valid but may be partial. */
  warnings: string[];
}

export interface PrometheusClient {
  query(query: InstantQuery): Promise<QueryResult>;
}

export interface PrometheusClientOptions {
  /** Base URL (a path prefix is kept): `http://127.0.0.1:9090`, `https://host/prometheus`. */
  url: string;
  method?: "GET" | "POST";
  headers?: Record<string, Secret>;
  timeoutMs?: number;
  /** Largest answer read; a bigger one is bad_response. */
  maxBytes?: number;
  fetch?: typeof fetch;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;
const QUOTE_LIMIT = 500;

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "unknown host",
  EAI_AGAIN: "host name lookup failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  UND_ERR_SOCKET: "connection closed by the server",
};

function networkFailure(err: unknown, target: string): AnalysisError {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const code = typeof cause?.code === "string" ? cause.code : undefined;
  const what = code ? `${NETWORK_CODES[code] ?? "connection failed"} (${code})` : `request failed: ${String((cause?.message as string | undefined) ?? (err as Error).message).slice(0, 200)}`;
  return new AnalysisError("unreachable", `Prometheus at ${target} is unreachable: ${what}`, { cause: err });
}

async function readLimited(res: Response, maxBytes: number): Promise<string | undefined> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function createPrometheusClient(options: PrometheusClientOptions): PrometheusClient {
  const base = options.url.replace(/\/+$/, "");
  const endpoint = `${base}/api/v1/query`;
  const target = new URL(base).origin + new URL(base).pathname.replace(/\/$/, "");
  const method = options.method ?? "POST";
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const secrets = Object.values(options.headers ?? {});
  const doFetch = options.fetch ?? fetch;
  const quote = (text: string) => redact(text, secrets).slice(0, QUOTE_LIMIT);

  return {
    async query({ query, time, signal }) {
      const params = new URLSearchParams({ query, time: (time.getTime() / 1000).toFixed(3), timeout: String(timeoutMs / 1000) });
      const headers: Record<string, string> = { accept: "application/json" };
      for (const [name, value] of Object.entries(options.headers ?? {})) headers[name] = value.reveal();
      if (method === "POST") headers["content-type"] = "application/x-www-form-urlencoded";
      const timeout = AbortSignal.timeout(timeoutMs);
      let res: Response;
      let text: string | undefined;
      try {
        res = await doFetch(method === "GET" ? `${endpoint}?${params}` : endpoint, {
          method,
          headers,
          ...(method === "POST" ? { body: params.toString() } : {}),
          redirect: "manual",
          signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
        });
        text = res.status >= 300 && res.status < 400 ? "" : await readLimited(res, maxBytes);
      } catch (err) {
        if (signal?.aborted) throw new AnalysisError("aborted", "the query was cancelled (the registry is shutting down)", { cause: err });
        if (timeout.aborted) throw new AnalysisError("timeout", `Prometheus at ${target} did not answer within ${timeoutMs / 1000} s`, { cause: err });
        throw networkFailure(err, target);
      }
      const httpStatus = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel().catch(() => {});
        const location = res.headers.get("location");
        throw new AnalysisError("bad_response", `Prometheus at ${target} answered ${httpStatus}, a redirect${location ? ` to ${quote(location)}` : ""}; redirects are not followed (they would carry the headers elsewhere): configure the final URL`, { status: res.status });
      }
      if (text === undefined) {
        throw new AnalysisError("bad_response", `the answer is larger than ${Math.round(maxBytes / 1024 / 1024)} MiB: the query returns far more than one number`, { status: res.status });
      }
      const notPrometheus = (why: string) =>
        res.ok
          ? new AnalysisError("bad_response", `${target} did not answer as Prometheus' API does (${why}): is the URL Prometheus' base URL?`, { status: res.status })
          : new AnalysisError("http_error", `${target} answered ${httpStatus}${res.status === 401 || res.status === 403 ? ": check the provider's headers" : ""} (not a Prometheus API answer)`, { status: res.status });
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw notPrometheus(`not JSON: ${res.headers.get("content-type") ?? "no content type"}`);
      }
      const parsed = queryAnswerSchema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw notPrometheus(`${issue ? `${issue.path.join(".") || "the answer"}: ${issue.message}` : "unexpected shape"}`);
      }
      const answer = parsed.data;
      if (answer.status === "error") {
        const kind = answer.errorType === "timeout" ? "timeout" : "query_failed";
        throw new AnalysisError(kind, `Prometheus refused the query (${answer.errorType}, ${httpStatus}): ${quote(answer.error)}`, { errorType: answer.errorType, status: res.status });
      }
      return { data: answer.data, warnings: [...(answer.warnings ?? []), ...(answer.infos ?? [])].map(quote) };
    },
  };
}

export function clientFromConfig(config: Pick<AnalysisConfig, "provider" | "timeout_seconds">, extra: Pick<PrometheusClientOptions, "fetch" | "maxBytes"> = {}): PrometheusClient {
  return createPrometheusClient({
    url: config.provider.url,
    method: config.provider.method,
    headers: config.provider.headers,
    timeoutMs: config.timeout_seconds * 1000,
    ...extra,
  });
}
