import { DatabaseTimeoutError, type TimeoutPhase } from "./budgets.js";

/**
 * Whether the database answers, as the budgeted pool sees it. A time-out alone does not say
 * the database hangs (one statement may be slow while others are answered), so the watch
 * turns *silent* only when nothing at all was answered since the timed-out work began. While
 * silent, new work is refused at once (`not_answering`), except one probe per `probeEveryMs`,
 * which waits its normal budget; the first answer of any kind ends the silence. So a hung
 * database costs one budget per probe interval, not one per request (nor two in a row within
 * one request: a resolve's token check and its read), and a request soon after the database
 * is back finds out.
 */
export class AnswerWatch {
  private lastAnswer = Number.NEGATIVE_INFINITY;
  private silentSince: number | undefined;
  private probing = false;
  private nextProbeAt = 0;
  private readonly listeners = new Set<() => void>();
  readonly timeouts: Record<TimeoutPhase, number> = { acquire: 0, statement: 0, not_answering: 0 };

  constructor(
    private readonly options: { probeEveryMs?: number; now?: () => number } = {},
  ) {}

  private now(): number {
    return this.options.now?.() ?? performance.now();
  }

  /** False from a time-out with nothing answered since its work began, until the next answer. */
  get answering(): boolean {
    return this.silentSince === undefined;
  }

  /** The server answered something: a row, an error, a new connection's start-up. */
  answered(): void {
    this.lastAnswer = this.now();
    this.silentSince = undefined;
  }

  /** Work that began at `startedAt` got no answer within its budget. */
  timedOut(phase: "acquire" | "statement", startedAt: number): void {
    this.timeouts[phase] += 1;
    if (this.silentSince === undefined && this.lastAnswer >= startedAt) return;
    this.nextProbeAt = this.now() + (this.options.probeEveryMs ?? 1_000);
    if (this.silentSince !== undefined) return;
    this.silentSince = startedAt;
    for (const listener of this.listeners) listener();
  }

  /**
   * Before taking a connection. True: this work is the probe (call `probeDone` once it has an
   * answer, a time-out or gave its connection back). Throws `not_answering` while silent, unless
   * no probe is out and the last one timed out at least `probeEveryMs` ago.
   */
  admit(): boolean {
    if (this.silentSince === undefined) return false;
    if (this.probing || this.now() < this.nextProbeAt) {
      this.timeouts.not_answering += 1;
      throw new DatabaseTimeoutError("not_answering", this.now() - this.silentSince);
    }
    this.probing = true;
    return true;
  }

  probeDone(): void {
    this.probing = false;
  }

  /** Called when the database turns silent (the change feed checks its own connection then). */
  onSilent(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
