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

describe("SessionLock with a turn passed on before its last request is answered", () => {
  const deferred = () => {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    return { promise, resolve };
  };
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it("pipeline 0 (the default): the next turn begins only once the answer has come", async () => {
    const lock = new SessionLock();
    const answered = deferred();
    (await lock.acquire())(answered.promise);
    let next = false;
    const turn = lock.acquire().then((release) => ((next = true), release));
    await settle();
    expect(next).toBe(false);
    answered.resolve();
    (await turn)();
  });

  it("pipeline 1: the next turn begins at once, the one after waits for the first answer", async () => {
    const lock = new SessionLock({ pipeline: 1 });
    const first = deferred();
    const second = deferred();
    (await lock.acquire())(first.promise);
    (await lock.acquire())(second.promise);
    let third = false;
    const turn = lock.acquire().then((release) => ((third = true), release));
    await settle();
    expect(third).toBe(false);
    first.resolve();
    await settle();
    expect(third).toBe(true);
    (await turn)();
    second.resolve();
  });

  it("a turn still held keeps every other out, pipeline or not; a failed answer counts as answered", async () => {
    const lock = new SessionLock({ pipeline: 1 });
    const held = await lock.acquire();
    let other = false;
    const turn = lock.acquire().then((release) => ((other = true), release));
    await settle();
    expect(other).toBe(false);
    const failed = Promise.reject(new Error("refused"));
    held(failed);
    const after = await turn;
    const more = deferred();
    after(more.promise);
    // Two unanswered turns ahead (the failed one counts as answered): one more may begin.
    (await lock.acquire())();
  });

  it("an urgent waiter begins only once every earlier turn is answered, and ordinary ones wait behind it", async () => {
    const lock = new SessionLock({ pipeline: 1 });
    const first = deferred();
    const order: string[] = [];
    (await lock.acquire())(first.promise);
    const take = (name: string, urgent = false) => lock.acquire({ urgent }).then((release) => (order.push(name), release()));
    const done = Promise.all([take("urgent", true), take("a")]);
    await settle();
    expect(order).toEqual([]);
    first.resolve();
    await done;
    expect(order).toEqual(["urgent", "a"]);
  });
});
