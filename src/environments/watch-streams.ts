import { Counter, Gauge, type Registry } from "prom-client";
import { TooManyWatchesError } from "../core/errors.js";

/**
 * Who holds the open watch streams of this instance, for two jobs:
 *
 * - **Caps.** A watch stream holds a socket (a file descriptor) for as long as the client
 *   likes, and read tokens ship inside every runtime, so without caps one token could take every
 *   descriptor and stop `/healthz`, `/readyz` and every other tenant. A stream is admitted only
 *   under three caps: per token, per client address (0 turns either off) and per instance
 *   (derived from the open-file limit, see watchCapacity). Over a cap: 429 `too_many_watches`
 *   with `retry-after`; refusals are counted by reason in /metrics.
 * - **Revocation and expiry.** The streams of a token end when it is revoked (on every instance:
 *   the change feed carries the revocation) or when it expires (a timer per token), and after
 *   the feed reconnects every token holding streams is checked again (a revocation may have
 *   gone unannounced meanwhile).
 */
export interface WatchStreamsOptions {
  perToken: number;
  perAddress: number;
  /** Most open streams on this instance. */
  total: number;
  /** Of the given token ids, those revoked or expired now (one query); used after a feed outage. */
  unusable?: (tokenIds: string[]) => Promise<string[]>;
  now?: () => number;
}

export interface StreamOwner {
  tokenId: string;
  address: string;
  /** When the token expires (epoch ms); its streams end then. */
  expiresAt?: number;
}

export type RefusalReason = "token" | "address" | "instance";

interface Stream {
  owner: StreamOwner;
  close: () => void;
}

/** A slot for a stream that is being opened or is open: `release` when it ends, always. */
export interface WatchSlot {
  release(): void;
}

/** Seconds a refused client is asked to wait: slots free up only as other streams end. */
const RETRY_AFTER_SECONDS = 30;
/** setTimeout's longest delay; a later expiry re-arms the timer when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class WatchStreams {
  private readonly byToken = new Map<string, Set<Stream>>();
  private readonly byAddress = new Map<string, number>();
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();
  private openCount = 0;
  readonly refusals: Record<RefusalReason, number> = { token: 0, address: 0, instance: 0 };

  constructor(private readonly options: WatchStreamsOptions) {}

  get open(): number {
    return this.openCount;
  }

  get total(): number {
    return this.options.total;
  }

  /** Takes a slot or throws TooManyWatchesError; `close` ends the stream (revocation, expiry). */
  admit(owner: StreamOwner, close: () => void): WatchSlot {
    const { perToken, perAddress, total } = this.options;
    const tokenStreams = this.byToken.get(owner.tokenId);
    if (perToken > 0 && (tokenStreams?.size ?? 0) >= perToken) {
      throw this.refuse("token", `This token already holds ${perToken} open watch streams (PINSET_WATCH_MAX_PER_TOKEN); close one or retry later`);
    }
    if (perAddress > 0 && (this.byAddress.get(owner.address) ?? 0) >= perAddress) {
      throw this.refuse("address", `Your address already holds ${perAddress} open watch streams (PINSET_WATCH_MAX_PER_ADDRESS); close one or retry later`);
    }
    if (this.openCount >= total) {
      throw this.refuse("instance", `This instance holds as many watch streams as its open-file limit allows (${total}); retry later or elsewhere`);
    }
    const stream: Stream = { owner, close };
    const set = tokenStreams ?? new Set<Stream>();
    if (!tokenStreams) this.byToken.set(owner.tokenId, set);
    set.add(stream);
    this.byAddress.set(owner.address, (this.byAddress.get(owner.address) ?? 0) + 1);
    this.openCount += 1;
    if (owner.expiresAt !== undefined && !this.expiryTimers.has(owner.tokenId)) this.armExpiry(owner.tokenId, owner.expiresAt);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.remove(stream);
      },
    };
  }

  /** Ends every stream of a token (revoked or expired); returns how many. */
  closeToken(tokenId: string): number {
    const set = this.byToken.get(tokenId);
    if (!set) return 0;
    const streams = [...set];
    // Each close releases its slot (the response's close event), but do not rely on it.
    for (const stream of streams) this.remove(stream);
    for (const stream of streams) stream.close();
    return streams.length;
  }

  /** Checks every token that holds streams against the database; ends those no longer usable. */
  async recheck(): Promise<void> {
    if (!this.options.unusable || this.byToken.size === 0) return;
    const gone = await this.options.unusable([...this.byToken.keys()]);
    for (const tokenId of gone) this.closeToken(tokenId);
  }

  /** Ends every stream and timer (shutdown). */
  closeAll(): void {
    for (const tokenId of [...this.byToken.keys()]) this.closeToken(tokenId);
  }

  private refuse(reason: RefusalReason, detail: string): TooManyWatchesError {
    this.refusals[reason] += 1;
    return new TooManyWatchesError(detail, RETRY_AFTER_SECONDS);
  }

  private remove(stream: Stream): void {
    const { tokenId, address } = stream.owner;
    const set = this.byToken.get(tokenId);
    if (!set?.delete(stream)) return;
    this.openCount -= 1;
    if (set.size === 0) {
      this.byToken.delete(tokenId);
      clearTimeout(this.expiryTimers.get(tokenId));
      this.expiryTimers.delete(tokenId);
    }
    const left = (this.byAddress.get(address) ?? 1) - 1;
    if (left > 0) this.byAddress.set(address, left);
    else this.byAddress.delete(address);
  }

  private armExpiry(tokenId: string, expiresAt: number): void {
    const wait = expiresAt - (this.options.now ?? Date.now)();
    const timer = setTimeout(() => {
      this.expiryTimers.delete(tokenId);
      if (wait > MAX_TIMER_MS) this.armExpiry(tokenId, expiresAt);
      else this.closeToken(tokenId);
    }, Math.max(0, Math.min(wait, MAX_TIMER_MS)));
    timer.unref();
    this.expiryTimers.set(tokenId, timer);
  }
}

/**
 * How many watch streams an instance may hold: its open-file limit less a reserve for what
 * ordinary requests, database connections, blob files and S3 sockets need — a quarter of the
 * limit, at least 256, but never more than half (a tiny limit still admits some streams).
 * Examples: 1 024 → 768; 4 096 → 3 072; 65 536 → 49 152.
 */
export function watchCapacity(openFilesLimit: number): number {
  const reserve = Math.min(Math.floor(openFilesLimit / 2), Math.max(256, Math.ceil(openFilesLimit / 4)));
  return Math.max(1, openFilesLimit - reserve);
}

/** `pinset_watch_refusals_total{reason}` and `pinset_watchers_limit` (the instance's cap). */
export function registerWatchLimitMetrics(registry: Registry, streams: WatchStreams): void {
  const reported: Record<RefusalReason, number> = { token: 0, address: 0, instance: 0 };
  const refusals = new Counter({
    name: "pinset_watch_refusals_total",
    help: "Watch streams refused (429) because a cap was reached, by cap: token, address, instance",
    labelNames: ["reason"] as const,
    registers: [registry],
    collect() {
      for (const reason of Object.keys(reported) as RefusalReason[]) {
        refusals.inc({ reason }, streams.refusals[reason] - reported[reason]);
        reported[reason] = streams.refusals[reason];
      }
    },
  });
  new Gauge({
    name: "pinset_watchers_limit",
    help: "Most watch streams this instance admits (derived from its open-file limit)",
    registers: [registry],
    collect() {
      this.set(streams.total);
    },
  });
}
