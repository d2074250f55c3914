import type { Request, RequestHandler } from "express";
import { RateLimitedError } from "../core/errors.js";
import type { Principal } from "../core/principal.js";
import { stateOf } from "./context.js";

export interface RateLimitConfig {
  /** Tokens added per second; 0 disables rate limiting. */
  rps: number;
  /** Bucket size: how many requests may arrive at once after a quiet period. */
  burst: number;
}

/**
 * Token buckets, one per key, refilled lazily from the clock on each take. A bucket that has
 * refilled completely is the same as no bucket, so idle keys are swept to bound memory.
 * Per instance: N instances behind a balancer allow up to N × the configured rate.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly now: () => number;
  private readonly maxKeys: number;

  constructor(private readonly config: RateLimitConfig, options: { now?: () => number; maxKeys?: number } = {}) {
    this.now = options.now ?? Date.now;
    this.maxKeys = options.maxKeys ?? 100_000;
  }

  get enabled(): boolean {
    return this.config.rps > 0;
  }

  /** 0 when the request may go ahead, else the whole seconds until the next token. */
  take(key: string): number {
    if (!this.enabled) return 0;
    const { rps, burst } = this.config;
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * rps);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      if (!this.buckets.has(key) && this.buckets.size >= this.maxKeys) this.sweep(now);
      this.buckets.set(key, bucket);
      return 0;
    }
    this.buckets.set(key, bucket);
    return Math.max(1, Math.ceil((1 - bucket.tokens) / rps));
  }

  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    const { rps, burst } = this.config;
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * rps >= burst) this.buckets.delete(key);
    }
    // Everyone is mid-burst (a flood of distinct keys): forget the oldest half rather than grow.
    if (this.buckets.size >= this.maxKeys) {
      let drop = Math.ceil(this.buckets.size / 2);
      for (const key of this.buckets.keys()) {
        if (drop-- <= 0) break;
        this.buckets.delete(key);
      }
    }
  }
}

const tokenKey = (principal: Principal) => `token:${principal.tokenId}`;

export function clientAddress(req: Request): string {
  return req.socket.remoteAddress ?? "unknown";
}

/**
 * Per-token rate limiting for /v1. `byPrincipal` runs after authentication and keys by token id,
 * so one client's burst never drains another's bucket. `chargeAnonymous` is called by the
 * authenticator before it answers 401, keyed by client address: guessing tokens is throttled
 * as well, in a bucket of its own.
 */
export function createRateLimit(config: RateLimitConfig, options: { now?: () => number } = {}) {
  const buckets = new TokenBuckets(config, options);
  const refuse = (retryAfter: number) => {
    if (retryAfter > 0) throw new RateLimitedError(retryAfter);
  };
  const byPrincipal: RequestHandler = (req, res, next) => {
    if (!buckets.enabled) return next();
    const principal = stateOf(res).principal;
    refuse(buckets.take(principal ? tokenKey(principal) : `address:${clientAddress(req)}`));
    next();
  };
  return {
    buckets,
    byPrincipal,
    /** `byPrincipal`'s charge without a request: 0 when the token may go ahead (and was charged). */
    take(principal: Principal): number {
      return buckets.enabled ? buckets.take(tokenKey(principal)) : 0;
    },
    chargeAnonymous(req: Request): void {
      refuse(buckets.take(`address:${clientAddress(req)}`));
    },
  };
}

export type RateLimit = ReturnType<typeof createRateLimit>;
