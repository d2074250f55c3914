/**
 * Reconnect delays for the resolver: exponential with "equal jitter" — each wait is drawn from
 * [d/2, d), d = min(initial × 2^n, max) — so thousands of clients that lost the registry at the
 * same moment do not all come back in the same instant, and a wait never collapses to zero.
 */
export interface BackoffOptions {
  /** The first wait's upper bound (default 500 ms). */
  initialDelayMs?: number;
  /** No wait is longer than this (default 30 s). */
  maxDelayMs?: number;
  /** A source of [0, 1) numbers; tests pass a fixed one. */
  random?: () => number;
}

export interface Backoff {
  /** The wait before the next attempt; every call without a `reset()` doubles the ceiling. */
  next(): number;
  /** Call after a success: the next failure starts again from the initial delay. */
  reset(): void;
  /** Consecutive failures since the last reset. */
  readonly failures: number;
}

export const DEFAULT_INITIAL_DELAY_MS = 500;
export const DEFAULT_MAX_DELAY_MS = 30_000;

export function createBackoff(options: BackoffOptions = {}): Backoff {
  const initial = options.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS;
  const max = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const random = options.random ?? Math.random;
  if (!(initial > 0) || !(max >= initial)) throw new RangeError("backoff needs 0 < initialDelayMs <= maxDelayMs");
  let failures = 0;
  return {
    next() {
      // The exponent is clamped so that a resolver that has been cut off for days does not overflow.
      const ceiling = Math.min(initial * 2 ** Math.min(failures, 30), max);
      failures++;
      return Math.round(ceiling / 2 + (ceiling / 2) * random());
    },
    reset() {
      failures = 0;
    },
    get failures() {
      return failures;
    },
  };
}
