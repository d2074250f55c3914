/**
 * Turns at a single database session (PGlite has one), first come first served, with one
 * exception: an `urgent` waiter goes ahead of every ordinary one. Urgent is for the callers
 * that hold a better answer than waiting (withDatabaseBudget: a cached token, the last bundle):
 * their short read should wait for the statement or transaction running now, not for a queue of
 * writes behind it. A waiter may give up (`timeoutMs`): it leaves the line and is never served.
 *
 * A turn may be passed on before its last request is answered (`release(answered)`): the
 * database runs requests in the order they were sent, so the next holder's statements still run
 * after it, and none can come between a transaction's. That keeps the database busy while an
 * answer travels back and the next holder's statement travels out. `pipeline` bounds how many
 * such unanswered turns may lie ahead when an ordinary turn begins (0: a turn begins only once
 * everything sent before it was answered). An urgent turn begins only once everything sent
 * before it was answered, so a caller with a better answer never has a statement queued behind
 * a long one: it gives up waiting instead.
 */
export class SessionWaitTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no turn at the database session within ${timeoutMs} ms`);
    this.name = "SessionWaitTimeout";
  }
}

interface Waiter {
  grant(): void;
}

/** Ends a turn; `answered`: the turn's last request, not answered yet (see SessionLock). Later calls do nothing. */
export type SessionRelease = (answered?: Promise<unknown>) => void;

export class SessionLock {
  private held = false;
  /** Turns passed on whose last request is not answered yet. */
  private ahead = 0;
  private readonly urgent: Waiter[] = [];
  private readonly ordinary: Waiter[] = [];

  constructor(private readonly options: { pipeline?: number } = {}) {}

  /** Resolves with this turn's release. */
  acquire(options: { urgent?: boolean; timeoutMs?: number } = {}): Promise<SessionRelease> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(timer);
          resolve(this.releaser());
        },
      };
      const line = options.urgent ? this.urgent : this.ordinary;
      line.push(waiter);
      this.next();
      if (options.timeoutMs !== undefined && line.includes(waiter)) {
        timer = setTimeout(() => {
          const at = line.indexOf(waiter);
          if (at < 0) return;
          line.splice(at, 1);
          reject(new SessionWaitTimeout(options.timeoutMs!));
        }, options.timeoutMs);
      }
    });
  }

  private next(): void {
    if (this.held) return;
    // An urgent turn waits for everything sent before it, as it always did: it would rather give
    // up (timeoutMs) than queue a statement behind a long one. Ordinary ones wait behind it.
    const line = this.urgent.length > 0 ? this.urgent : this.ordinary;
    if (this.ahead > (line === this.urgent ? 0 : (this.options.pipeline ?? 0))) return;
    const waiter = line.shift();
    if (!waiter) return;
    this.held = true;
    waiter.grant();
  }

  private releaser(): SessionRelease {
    let released = false;
    return (answered) => {
      if (released) return;
      released = true;
      this.held = false;
      if (answered) {
        this.ahead++;
        const done = () => {
          this.ahead--;
          this.next();
        };
        answered.then(done, done);
      }
      this.next();
    };
  }
}
