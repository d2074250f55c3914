/**
 * The one catalogue of error codes. Every error that reaches a client is an AppError (or is
 * turned into one by the problem middleware) and is rendered as application/problem+json with
 * its stable `code`; the HTTP status travels with the error, never decided in a handler.
 */
export type ErrorCode =
  | "bad_request"
  | "validation_failed"
  | "malformed_json"
  | "unsupported_media_type"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "conflict"
  | "gc_running"
  | "gone"
  | "gate_blocked"
  | "incident_open"
  | "regression_set_required"
  | "digest_mismatch"
  | "payload_too_large"
  | "locked"
  | "rate_limited"
  | "too_many_watches"
  | "request_timeout"
  | "unprocessable"
  | "unavailable"
  | "database_timeout"
  | "internal";

export interface FieldError {
  path: string;
  message: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly errors?: FieldError[];
  /** Extra headers the problem response must carry (e.g. retry-after, allow). */
  readonly headers?: Record<string, string>;

  constructor(options: {
    code: ErrorCode;
    status: number;
    title: string;
    detail: string;
    errors?: FieldError[];
    headers?: Record<string, string>;
    cause?: unknown;
  }) {
    super(options.detail, { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.status = options.status;
    this.title = options.title;
    if (options.errors) this.errors = options.errors;
    if (options.headers) this.headers = options.headers;
  }
}

export class BadRequestError extends AppError {
  constructor(detail: string, errors?: FieldError[], code: ErrorCode = "bad_request") {
    super({ code, status: 400, title: "Bad request", detail, ...(errors ? { errors } : {}) });
  }
}

/** Request syntax is fine but a field fails its schema (400, code validation_failed). */
export class ValidationError extends AppError {
  constructor(detail: string, errors: FieldError[] = []) {
    super({ code: "validation_failed", status: 400, title: "Validation failed", detail, errors });
  }
}

/** The request is well-formed but its meaning cannot be accepted (422). */
export class UnprocessableError extends AppError {
  constructor(detail: string, errors: FieldError[] = [], code: ErrorCode = "validation_failed") {
    super({ code, status: 422, title: "Unprocessable content", detail, errors });
  }
}

export class UnauthorizedError extends AppError {
  constructor(detail = "A valid bearer token is required") {
    super({
      code: "unauthorized",
      status: 401,
      title: "Unauthorized",
      detail,
      headers: { "www-authenticate": 'Bearer realm="pinset"' },
    });
  }
}

export class ForbiddenError extends AppError {
  constructor(detail: string) {
    super({ code: "forbidden", status: 403, title: "Forbidden", detail });
  }
}

export class NotFoundError extends AppError {
  constructor(detail: string) {
    super({ code: "not_found", status: 404, title: "Not found", detail });
  }
}

export class MethodNotAllowedError extends AppError {
  constructor(detail: string, allow: string[]) {
    super({
      code: "method_not_allowed",
      status: 405,
      title: "Method not allowed",
      detail,
      headers: { allow: allow.join(", ") },
    });
  }
}

export class ConflictError extends AppError {
  constructor(detail: string, code: ErrorCode = "conflict") {
    super({ code, status: 409, title: "Conflict", detail });
  }
}

/** The thing exists but its bytes were collected (a retired index version): 410, code gone. */
export class GoneError extends AppError {
  constructor(detail: string) {
    super({ code: "gone", status: 410, title: "Gone", detail });
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(detail: string) {
    super({ code: "payload_too_large", status: 413, title: "Payload too large", detail });
  }
}

export class LockedError extends AppError {
  constructor(detail: string) {
    super({ code: "locked", status: 423, title: "Locked", detail });
  }
}

export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number) {
    super({
      code: "rate_limited",
      status: 429,
      title: "Too many requests",
      detail: `Rate limit exceeded; retry after ${retryAfterSeconds} s`,
      headers: { "retry-after": String(retryAfterSeconds) },
    });
  }
}

/** A cap on open watch streams (per token, per client address, or the instance's) is reached. */
export class TooManyWatchesError extends AppError {
  constructor(detail: string, retryAfterSeconds: number) {
    super({ code: "too_many_watches", status: 429, title: "Too many watch streams", detail, headers: { "retry-after": String(retryAfterSeconds) } });
  }
}

/** The request body stalled or took too long to arrive (408). */
export class RequestTimeoutError extends AppError {
  constructor(detail: string) {
    super({ code: "request_timeout", status: 408, title: "Request timeout", detail });
  }
}

export class UnavailableError extends AppError {
  constructor(detail: string, cause?: unknown, options: { code?: "unavailable" | "database_timeout"; retryAfterSeconds?: number } = {}) {
    super({
      code: options.code ?? "unavailable",
      status: 503,
      title: "Service unavailable",
      detail,
      cause,
      ...(options.retryAfterSeconds !== undefined ? { headers: { "retry-after": String(options.retryAfterSeconds) } } : {}),
    });
  }
}

/** Digest of uploaded bytes differs from the one the client named (400 per API.md). */
export class DigestMismatchError extends AppError {
  constructor(expected: string, actual: string) {
    super({
      code: "digest_mismatch",
      status: 400,
      title: "Digest mismatch",
      detail: `The body hashes to ${actual}, not ${expected}; nothing was stored`,
    });
  }
}
