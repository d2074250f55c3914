/**
 * When to try a failed delivery again. Attempt numbers start at 1 (the first try).
 * `delayAfter(n)` is the wait after attempt n failed, or undefined when n was the last attempt
 * and the delivery is marked failed.
 */
export interface RetrySchedule {
  readonly maxAttempts: number;
  delayAfter(attempt: number, random?: () => number): number | undefined;
}

export interface ExponentialBackoffOptions {
  /** Wait after the first failure. */
  baseMs: number;
  factor?: number;
  /** Upper bound of any single wait. */
  maxDelayMs?: number;
  /** Attempts in total, the first try included. */
  maxAttempts: number;
  /**
   * Each wait is stretched by a random fraction in [0, jitter): receivers that failed together
   * are not all retried in the same instant. Jitter only lengthens, so the minimum span of the
   * schedule is that of the bare exponential series.
   */
  jitter?: number;
}

export function exponentialBackoff(options: ExponentialBackoffOptions): RetrySchedule {
  const factor = options.factor ?? 2;
  const maxDelayMs = options.maxDelayMs ?? Number.POSITIVE_INFINITY;
  const jitter = options.jitter ?? 0;
  if (!(options.baseMs >= 0) || !(factor >= 1) || !(jitter >= 0) || !Number.isInteger(options.maxAttempts) || options.maxAttempts < 1) {
    throw new RangeError("invalid backoff options");
  }
  return {
    maxAttempts: options.maxAttempts,
    delayAfter(attempt, random = Math.random) {
      if (!Number.isInteger(attempt) || attempt < 1 || attempt >= options.maxAttempts) return undefined;
      const bare = Math.min(options.baseMs * factor ** (attempt - 1), maxDelayMs);
      return Math.round(bare * (1 + jitter * random()));
    },
  };
}

/**
 * The production schedule: 8 attempts, waiting 30 s, 1, 2, 4, 8, 16 and 32 min (+ up to 25 %
 * jitter) between them — the last attempt comes at least 63.5 min after the first, well past the
 * "≥ 5 attempts over ≥ 10 minutes" of the contract, so a receiver that is down for a deploy or
 * a short outage still gets the event.
 */
export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = exponentialBackoff({
  baseMs: 30_000,
  factor: 2,
  maxAttempts: 8,
  jitter: 0.25,
});

/** Milliseconds from the first attempt to the last one, for a given random source. */
export function scheduleSpan(schedule: RetrySchedule, random: () => number = Math.random): number {
  let total = 0;
  for (let attempt = 1; attempt < schedule.maxAttempts; attempt++) total += schedule.delayAfter(attempt, random) ?? 0;
  return total;
}
