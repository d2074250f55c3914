import { describe, expect, it } from "vitest";
import { SessionLock, SessionWaitTimeout } from "../../src/db/session-lock.js";

/** Turns at PGlite's single session (db/session-lock.ts). */
describe("SessionLock", () => {
  it("serves waiters in order, an urgent one ahead of every ordinary one", async () => {
    const lock = new SessionLock();
    const order: string[] = [];
    const first = await lock.acquire();
    const take = (name: string, urgent = false) => lock.acquire({ urgent }).then((release) => (order.push(name), release()));
    const done = Promise.all([take("a"), take("b"), take("urgent", true)]);
    first();
    await done;
    expect(order).toEqual(["urgent", "a", "b"]);
  });

  it("a waiter that gives up leaves the line and is never served; a release counts once", async () => {
    const lock = new SessionLock();
    const held = await lock.acquire();
    const given = lock.acquire({ timeoutMs: 20 });
    const next = lock.acquire();
    await expect(given).rejects.toBeInstanceOf(SessionWaitTimeout);
    held();
    held();
    const release = await next;
    let third = false;
    const after = lock.acquire().then((r) => ((third = true), r));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(third).toBe(false);
    release();
    (await after)();
  });
});
