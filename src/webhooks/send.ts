import { SIGNATURE_HEADER, signBody } from "./signature.js";

export interface SendRequest {
  url: string;
  deliveryId: string;
  event: string;
  attempt: number;
  body: string;
  secret: string;
}

export interface SendResult {
  ok: boolean;
  statusCode: number | null;
  /** Why it failed, without the URL or anything the receiver sent back; null when ok. */
  error: string | null;
  /** The send was cut short by `signal` (shutdown), not by the receiver or the time-out. */
  aborted: boolean;
}

export type Sender = (request: SendRequest, options: { timeoutMs: number; signal: AbortSignal }) => Promise<SendResult>;

export function deliveryHeaders(request: SendRequest): Record<string, string> {
  return {
    "content-type": "application/json",
    "user-agent": "pinset-webhooks/1",
    "x-pinset-event": request.event,
    "x-pinset-delivery": request.deliveryId,
    "x-pinset-attempt": String(request.attempt),
    [SIGNATURE_HEADER]: signBody(request.secret, request.body),
  };
}

function describeFailure(err: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `timed out after ${timeoutMs} ms`;
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (cause && typeof cause.code === "string") return `connection failed: ${cause.code}`;
  const message = cause && typeof cause.message === "string" ? cause.message : err instanceof Error ? err.message : String(err);
  return `request failed: ${message.slice(0, 200)}`;
}

/**
 * POSTs one delivery. Redirects are never followed (a receiver must answer at the URL it
 * registered; following would let it bounce signed requests elsewhere), so a 3xx counts as a
 * failure. The response body is discarded unread. Never throws.
 */
export const httpSend: Sender = async (request, options) => {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  try {
    const res = await fetch(request.url, {
      method: "POST",
      headers: deliveryHeaders(request),
      body: request.body,
      redirect: "manual",
      signal: AbortSignal.any([timeout, options.signal]),
    });
    await res.body?.cancel().catch(() => {});
    const ok = res.status >= 200 && res.status < 300;
    const error = ok ? null : res.status >= 300 && res.status < 400 ? `HTTP ${res.status} (redirects are not followed)` : `HTTP ${res.status}`;
    return { ok, statusCode: res.status, error, aborted: false };
  } catch (err) {
    const aborted = options.signal.aborted;
    return { ok: false, statusCode: null, error: aborted ? "aborted: registry shutting down" : describeFailure(err, timeout.aborted, options.timeoutMs), aborted };
  }
};
