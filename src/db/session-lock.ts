/**
 * Turns at a single database session (PGlite has one), first come first served, with one
 * exception: an `urgent` waiter goes ahead of every ordinary one. Urgent is for the callers
 * that hold a better answer than waiting (withDatabaseBudget: a cached token, the last bundle):
 * their short read should wait for the statement or transaction running now, not for a queue of
 * writes behind it. A waiter may give up (`timeoutMs`): it leaves the line and is never served.
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

export class SessionLock {
  private held = false;
  private readonly urgent: Waiter[] = [];
  private readonly ordinary: Waiter[] = [];

  /** Resolves with this turn's release (call it once; later calls do nothing). */
  acquire(options: { urgent?: boolean; timeoutMs?: number } = {}): Promise<() => void> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(timer);
          resolve(this.releaser());
        },
      };
      if (!this.held) {
        this.held = true;
        waiter.grant();
        return;
      }
      const line = options.urgent ? this.urgent : this.ordinary;
      line.push(waiter);
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          const at = line.indexOf(waiter);
          if (at < 0) return;
          line.splice(at, 1);
          reject(new SessionWaitTimeout(options.timeoutMs!));
        }, options.timeoutMs);
      }
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.urgent.shift() ?? this.ordinary.shift();
      if (next) next.grant();
      else this.held = false;
    };
  }
}
