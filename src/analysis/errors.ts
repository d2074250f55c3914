/**
 * Why a query gave no number. A measurement failure is never a verdict: the evaluation records
 * it and the metric is no_data for that window (evaluate.ts).
 *
 *   kind             what happened                                            from
 *   unreachable      connection refused, unknown host, connection reset         the client
 *   timeout          no answer within timeout_seconds, or Prometheus gave up    the client / Prometheus
 *   aborted          the caller cancelled (the registry is shutting down)       the client
 *   http_error       a non-2xx answer that is no Prometheus API answer          the client (a proxy's 401, 502, …)
 *   bad_response     not a Prometheus API answer: not JSON, wrong shape, too    the client
 *                    large, a redirect (never followed: it would carry the headers elsewhere)
 *   query_failed     Prometheus answered status "error" (bad_data, execution…)  the client
 *   empty_result     no series: the metric is not exported for that set yet     the result
 *   several_series   more series than one number (or one per `le`) allows       the result
 *   not_finite       NaN or ±Inf (e.g. 0/0 over a window without requests)      the result
 *   wrong_type       a range vector, a string, a native histogram               the result
 *   invalid_value    a number the metric cannot take: a rate above 1, count     the evaluation
 *                    above trials, a histogram without "+Inf"
 *   rejected         the registry refused the side's observation (its rollout   the loop (service.ts)
 *                    ended meanwhile, a value its gate does not take)
 *
 * Messages never contain a provider header value (the client redacts what a server echoes).
 */
export const ANALYSIS_ERROR_KINDS = [
  "unreachable",
  "timeout",
  "aborted",
  "http_error",
  "bad_response",
  "query_failed",
  "empty_result",
  "several_series",
  "not_finite",
  "wrong_type",
  "invalid_value",
  "rejected",
] as const;

export type AnalysisErrorKind = (typeof ANALYSIS_ERROR_KINDS)[number];

export class AnalysisError extends Error {
  readonly kind: AnalysisErrorKind;
  /** Prometheus' errorType for query_failed / timeout answers (bad_data, execution, timeout, …). */
  readonly errorType?: string;
  /** The HTTP status, when there was an answer. */
  readonly status?: number;

  constructor(kind: AnalysisErrorKind, message: string, options: { errorType?: string; status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AnalysisError";
    this.kind = kind;
    if (options.errorType !== undefined) this.errorType = options.errorType;
    if (options.status !== undefined) this.status = options.status;
  }
}

/** Failures of the provider itself (not of one query): the rest of a run is not sent. */
export const isProviderDown = (error: AnalysisError): boolean => error.kind === "unreachable" || error.kind === "timeout" || error.kind === "aborted";
