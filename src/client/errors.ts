/** A field-level problem from a `validation_failed` answer. */
export interface ProblemFieldError {
  path: string;
  message: string;
}

/** The registry's `application/problem+json` body (RFC 9457 plus `code` and `trace_id`). */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  trace_id?: string;
  errors?: ProblemFieldError[];
}

/** Codes for answers that carry no problem body (HEAD, or a proxy in front of the registry). */
const CODE_BY_STATUS: Record<number, string> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "payload_too_large",
  422: "unprocessable",
  423: "locked",
  429: "rate_limited",
  503: "unavailable",
};

function isProblem(value: unknown): value is Problem {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The registry answered with an error status. */
export class PinsetApiError extends Error {
  override readonly name = "PinsetApiError";
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly traceId: string | undefined;
  readonly errors: ProblemFieldError[];
  readonly problem: Problem | undefined;

  constructor(options: { status: number; code: string; detail: string; traceId?: string | undefined; errors?: ProblemFieldError[]; problem?: Problem }) {
    super(options.detail);
    this.status = options.status;
    this.code = options.code;
    this.detail = options.detail;
    this.traceId = options.traceId;
    this.errors = options.errors ?? [];
    this.problem = options.problem;
  }

  /** Builds the error from an answer; `body` is the parsed problem when there was one. */
  static fromResponse(response: Response, body?: unknown): PinsetApiError {
    const problem = isProblem(body) ? body : undefined;
    const status = response.status;
    const traceId = problem?.trace_id ?? response.headers.get("x-trace-id") ?? undefined;
    const text = typeof body === "string" && body.length > 0 && body.length < 200 && !body.includes("<") ? body : undefined;
    return new PinsetApiError({
      status,
      code: problem?.code ?? CODE_BY_STATUS[status] ?? `http_${status}`,
      detail: problem?.detail ?? problem?.title ?? text ?? `The registry answered HTTP ${status}${response.statusText ? ` ${response.statusText}` : ""}`,
      traceId,
      errors: Array.isArray(problem?.errors) ? problem.errors : [],
      ...(problem ? { problem } : {}),
    });
  }
}

/** The registry could not be reached at all (refused, DNS, reset, TLS): nothing was answered. */
export class RegistryUnreachableError extends Error {
  override readonly name = "RegistryUnreachableError";
  readonly url: string;

  constructor(url: string, cause: unknown) {
    super(`cannot reach the registry at ${url}${describeCause(cause)}`, { cause });
    this.url = url;
  }
}

/** undici's "fetch failed" hides the useful part (ECONNREFUSED, ENOTFOUND, bad port…) in `cause`. */
function describeCause(error: unknown): string {
  let message = "";
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return `: ${code}`;
    if (current.message && current.message !== "fetch failed") message = current.message;
    current = current.cause;
  }
  return message ? `: ${message}` : "";
}
