import { EventEmitter } from "node:events";
import { MessageChannel } from "node:worker_threads";
import type pg from "pg";
import { describe, expect, it } from "vitest";
import { AnswerWatch } from "../../src/db/answer-watch.js";
import { BudgetedPool } from "../../src/db/budgeted-pool.js";
import { budgetCap, DatabaseTimeoutError, withDatabaseBudget } from "../../src/db/budgets.js";
import { nameStatement } from "../../src/db/prepared-statements.js";
import { isDatabaseTimeout, isDatabaseUnavailable } from "../../src/db/errors.js";

/**
 * A memory fake of pg's pool: each connection answers a statement after `delays[sql]` ms
 * (default at once), or never when the delay is Infinity. Records what happened to each
 * connection: its statements and how it was released (an argument means "destroy it").
 */
class FakeConnection extends EventEmitter {
  readonly statements: string[] = [];
  released: "idle" | "destroyed" | undefined;
  constructor(private readonly fake: FakePool) {
    super();
  }
  query(statement: string | { name: string; text: string }): Promise<{ command: string; rowCount: number; rows: unknown[] }> {
    const sql = typeof statement === "string" ? statement : statement.text;
    this.statements.push(typeof statement === "string" ? sql : `${statement.name}: ${sql}`);
    const refusal = this.fake.refuse.get(sql);
    if (refusal) {
      if (refusal.once) this.fake.refuse.delete(sql);
      return Promise.reject(Object.assign(new Error(refusal.message), { code: refusal.code }));
    }
    const delay = this.fake.delays[sql.trim().toLowerCase()] ?? 0;
    return new Promise((resolve, reject) => {
      if (delay === Number.POSITIVE_INFINITY) return;
      // Due after `delay`, then delivered in the poll phase as a socket's bytes are: after the
      // timers that fired in the same turn, before their setImmediate callbacks.
      setTimeout(() => {
        this.fake.deliver(() => {
          if (this.released === "destroyed") reject(new Error("Connection terminated"));
          else resolve({ command: sql.split(" ")[0]!.toUpperCase(), rowCount: 0, rows: [{ sql }] });
        });
      }, delay);
    });
  }
  release(err?: unknown): void {
    if (this.released) throw new Error("released twice");
    this.released = err ? "destroyed" : "idle";
  }
}

class FakePool extends EventEmitter {
  readonly options = { max: 3 };
  readonly delays: Record<string, number> = {};
  /** Statements the server refuses, with the error's SQLSTATE and message. */
  readonly refuse = new Map<string, { code: string; message: string; once?: boolean }>();
  readonly connections: FakeConnection[] = [];
  connectDelayMs = 0;
  /** A message port's messages arrive in the poll phase, as a socket's bytes do. */
  private readonly wire = new MessageChannel();
  private readonly arriving = new Map<number, () => void>();
  private sent = 0;
  constructor() {
    super();
    this.wire.port2.on("message", (id: number) => {
      this.arriving.get(id)?.();
      this.arriving.delete(id);
    });
    this.wire.port2.unref();
  }
  deliver(answer: () => void): void {
    const id = ++this.sent;
    this.arriving.set(id, answer);
    this.wire.port1.postMessage(id);
  }
  connect(): Promise<FakeConnection> {
    return new Promise((resolve) => {
      if (this.connectDelayMs === Number.POSITIVE_INFINITY) return;
      setTimeout(() => {
        const c = new FakeConnection(this);
        this.connections.push(c);
        resolve(c);
      }, this.connectDelayMs);
    });
  }
}

const budgets = { readMs: 100, writeMs: 300, acquireMs: 200 };

function budgeted(options: { probeEveryMs?: number } = {}) {
  const fake = new FakePool();
  const watch = new AnswerWatch({ probeEveryMs: options.probeEveryMs ?? 0 });
  const pool = new BudgetedPool(fake as unknown as pg.Pool, budgets, { watch });
  return { fake, pool, watch };
}

/** The statement the stale-plan cases run: named, as a statement built once is. */
const NAMED = "select 'budgets: stale plan' as x";
const STALE_PLAN = { code: "0A000", message: "cached plan must not change result type" };

/** A checkout of a fresh pool whose server refuses NAMED as `refusal` says. */
async function refusingNamedStatement(refusal: { code: string; message: string; once?: boolean }) {
  nameStatement(NAMED);
  const { fake, pool } = budgeted();
  fake.refuse.set(NAMED, refusal);
  return { fake, client: await pool.connect() };
}

async function failure(work: Promise<unknown>): Promise<DatabaseTimeoutError> {
  const started = performance.now();
  const err = await work.then(
    () => {
      throw new Error("expected a time-out");
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DatabaseTimeoutError);
  (err as { elapsed?: number }).elapsed = performance.now() - started;
  return err as DatabaseTimeoutError;
}

const elapsed = (err: DatabaseTimeoutError) => (err as unknown as { elapsed: number }).elapsed;

describe("BudgetedPool", () => {
  it("listens for 'error' on a checked-out connection (pg emits it when the server vanishes mid-query) and stops when it is released", async () => {
    const { fake, pool } = budgeted();
    const conn = await pool.connect();
    await conn.query("begin", []);
    const raw = fake.connections[0]!;
    expect(raw.listenerCount("error")).toBe(1);
    // Without a listener this emit would throw (an uncaught exception in a server).
    expect(() => raw.emit("error", new Error("Connection terminated unexpectedly"))).not.toThrow();
    conn.release();
    expect(raw.listenerCount("error")).toBe(0);
  });

  it("gives a read the read budget and a transaction's statements the write budget", async () => {
    const { fake, pool } = budgeted();
    fake.delays["select 1"] = 150;
    const read = await pool.connect();
    // A long tick first: timers count from the loop's cached time, so one armed now would fire
    // 50 ms early; the budget is checked against the clock.
    const until = performance.now() + 50;
    while (performance.now() < until);
    const err = await failure(read.query("select 1", []));
    expect(err).toMatchObject({ phase: "statement", budgetMs: 100, outcome: "none" });
    expect(elapsed(err)).toBeGreaterThanOrEqual(99);
    read.release();

    // The same statement inside a transaction has 300 ms: it answers.
    const tx = await pool.connect();
    await tx.query("begin", []);
    await expect(tx.query("select 1", [])).resolves.toMatchObject({ rows: [{ sql: "select 1" }] });
    await tx.query("commit", []);
    tx.release();
    // And after the commit, a select is a read again.
    const again = await pool.connect();
    await failure(again.query("select 1", []));
    again.release();
  });

  it("destroys a connection whose statement timed out, and fails the rollback that follows with the same error", async () => {
    const { fake, pool } = budgeted();
    fake.delays["update t set x = 1"] = Number.POSITIVE_INFINITY;
    const tx = await pool.connect();
    await tx.query("begin", []);
    const err = await failure(tx.query("update t set x = 1", []));
    expect(err.outcome).toBe("none");
    expect(fake.connections[0]!.released).toBe("destroyed");
    await expect(tx.query("rollback", [])).rejects.toBe(err);
    tx.release(true);
    expect(fake.connections).toHaveLength(1);
  });

  it("hands a released checkout out again, reset: outside a transaction, not broken, on a connection of its own", async () => {
    const { fake, pool } = budgeted();
    fake.delays["select slow"] = Number.POSITIVE_INFINITY;
    const first = await pool.connect();
    await first.query("begin", []);
    await first.query("commit", []);
    await failure(first.query("select slow", []));
    first.release();
    // The same object (kysely keys its own per-connection objects by it), fresh state.
    const second = await pool.connect();
    expect(second).toBe(first);
    fake.delays["select 1"] = 150;
    // A read (not a transaction's write budget): it times out at the read budget.
    expect(await failure(second.query("select 1", []))).toMatchObject({ budgetMs: 100, phase: "statement" });
    second.release();
    const third = await pool.connect();
    expect(third).toBe(first);
    await expect(third.query("select 2", [])).resolves.toMatchObject({ rows: [{ sql: "select 2" }] });
    expect(fake.connections.map((c) => c.released)).toEqual(["destroyed", "destroyed", undefined]);
    third.release();
    expect(fake.connections[2]!.released).toBe("idle");
  });

  it("never hands out again a checkout kysely released to be destroyed (it discards its own connection object for it)", async () => {
    const { fake, pool } = budgeted();
    fake.delays["update t set x = 1"] = Number.POSITIVE_INFINITY;
    const tx = await pool.connect();
    await tx.query("begin", []);
    await failure(tx.query("update t set x = 1", []));
    tx.release(true);
    expect(await pool.connect()).not.toBe(tx);
  });

  it("does not hand out again a checkout released while a statement of it still runs", async () => {
    const { fake, pool } = budgeted();
    fake.delays["select slow"] = 30;
    const tx = await pool.connect();
    await tx.query("begin", []);
    // A transaction whose work failed with a statement still out: kysely rolls back and releases.
    const left = tx.query("select slow", []);
    tx.release();
    const next = await pool.connect();
    expect(next).not.toBe(tx);
    await left.catch(() => undefined);
    next.release();
  });

  it("sends a statement built once by its name, and others unnamed; unnamed throughout when preparing is off", async () => {
    const name = nameStatement("select 'budgets: named' as x");
    for (const prepare of [true, false]) {
      const fake = new FakePool();
      const pool = new BudgetedPool(fake as unknown as pg.Pool, budgets, { prepare });
      const client = await pool.connect();
      await client.query("select 'budgets: named' as x", []);
      await client.query("select 'budgets: unnamed' as x", []);
      client.release();
      expect(fake.connections[0]!.statements).toEqual([prepare ? `${name}: select 'budgets: named' as x` : "select 'budgets: named' as x", "select 'budgets: unnamed' as x"]);
    }
  });

  it("drops a connection that refuses a prepared statement's stale plan: outside a transaction it runs again on a new one", async () => {
    const { fake, client } = await refusingNamedStatement({ ...STALE_PLAN, once: true });
    expect((await client.query<{ sql: string }>(NAMED, [])).rows).toEqual([{ sql: NAMED }]);
    client.release();
    expect(fake.connections.map((c) => c.released)).toEqual(["destroyed", "idle"]);
  });

  it("runs a statement refused for a stale plan again on as many connections as the pool has, then fails with the server's error", async () => {
    const { fake, client } = await refusingNamedStatement(STALE_PLAN);
    await expect(client.query(NAMED, [])).rejects.toThrow("cached plan must not change result type");
    client.release();
    expect(fake.connections.map((c) => c.released)).toEqual(["destroyed", "destroyed", "destroyed", "destroyed"]);
  });

  it("fails a transaction whose prepared statement's plan is stale, and its rollback alike, on a destroyed connection", async () => {
    const { fake, client } = await refusingNamedStatement(STALE_PLAN);
    await client.query("begin", []);
    await expect(client.query(NAMED, [])).rejects.toThrow(/cached plan/);
    await expect(client.query("rollback", [])).rejects.toThrow(/cached plan/);
    client.release();
    expect(fake.connections.map((c) => c.released)).toEqual(["destroyed"]);
  });

  it("keeps the connection when a prepared statement fails for another reason", async () => {
    const { fake, client } = await refusingNamedStatement({ code: "42P01", message: 'relation "x" does not exist' });
    await expect(client.query(NAMED, [])).rejects.toThrow(/does not exist/);
    client.release();
    expect(fake.connections.map((c) => c.released)).toEqual(["idle"]);
  });

  it("says a commit or a write outside a transaction may have been applied", async () => {
    const { fake, pool } = budgeted();
    fake.delays.commit = Number.POSITIVE_INFINITY;
    fake.delays["insert into t values (1)"] = Number.POSITIVE_INFINITY;
    const tx = await pool.connect();
    await tx.query("begin", []);
    expect((await failure(tx.query("commit", []))).outcome).toBe("unknown");
    tx.release(true);
    const single = await pool.connect();
    const err = await failure(single.query("insert into t values (1)", []));
    expect(err).toMatchObject({ outcome: "unknown", budgetMs: 300 });
    expect(err.message).toMatch(/may or may not have been applied/);
    single.release();
  });

  it("bounds the wait for a connection, and gives a connection that comes late back to the pool", async () => {
    const { fake, pool } = budgeted();
    fake.connectDelayMs = 250;
    const tx = await pool.connect();
    const err = await failure(tx.query("begin", []));
    expect(err).toMatchObject({ phase: "acquire", budgetMs: 200 });
    tx.release();
    // The late connection arrives 50 ms after the refusal; on a loaded machine allow it time.
    for (let waited = 0; fake.connections[0]?.released !== "idle" && waited < 3_000; waited += 25) {
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(fake.connections[0]!.released).toBe("idle");

    // A read waits at most its own budget for a connection.
    const read = await pool.connect();
    expect(await failure(read.query("select 1", []))).toMatchObject({ phase: "acquire", budgetMs: 100 });
    read.release();
  });

  it("caps budgets inside withDatabaseBudget, the smaller cap winning when nested", async () => {
    const { fake, pool } = budgeted();
    fake.delays["select 1"] = 80;
    const c = await pool.connect();
    const err = await withDatabaseBudget(200, () => withDatabaseBudget(40, () => failure(c.query("select 1", []))));
    expect(err.budgetMs).toBe(40);
    c.release();
  });

  it("answers a statement whose answer is due when the timer fires after a stalled event loop", async () => {
    const { fake, pool } = budgeted();
    const c = await pool.connect();
    await c.query("select 0", []);
    fake.delays["select 1"] = 50;
    // Another 100 ms timer armed earlier: node fires every expired timer of a duration's list
    // together, so the budget's timer fires before the answer's, as on a busy server.
    const older = setTimeout(() => {}, 100);
    await new Promise((r) => setTimeout(r, 60));
    const answer = c.query("select 1", []);
    // Block the loop past both the answer (50 ms) and the budget (100 ms).
    const until = performance.now() + 150;
    while (performance.now() < until);
    await expect(answer).resolves.toMatchObject({ rows: [{ sql: "select 1" }] });
    clearTimeout(older);
    c.release();
  });
});

describe("AnswerWatch (through the pool)", () => {
  it("turns silent only when nothing answered since the timed-out work began", async () => {
    const { fake, pool, watch } = budgeted();
    fake.delays["select pg_sleep(1)"] = Number.POSITIVE_INFINITY;
    const slow = await pool.connect();
    const timingOut = failure(slow.query("select pg_sleep(1)", []));
    // Another statement answers meanwhile: the database is slow, not hung.
    const fast = await pool.connect();
    await fast.query("select 1", []);
    fast.release();
    await timingOut;
    slow.release();
    expect(watch.answering).toBe(true);

    const hung = await pool.connect();
    await failure(hung.query("select pg_sleep(1)", []));
    hung.release();
    expect(watch.answering).toBe(false);
  });

  it("refuses at once while silent, lets one probe through per interval, and is answering again after any answer", async () => {
    const { fake, pool, watch } = budgeted({ probeEveryMs: 200 });
    let silentCalls = 0;
    watch.onSilent(() => silentCalls++);
    fake.delays["select 1"] = Number.POSITIVE_INFINITY;
    const first = await pool.connect();
    await failure(first.query("select 1", []));
    first.release();
    expect(silentCalls).toBe(1);

    const refused = await pool.connect();
    const err = await failure(refused.query("select 1", []));
    expect(err.phase).toBe("not_answering");
    expect(elapsed(err)).toBeLessThan(50);
    refused.release();

    await new Promise((r) => setTimeout(r, 220));
    delete fake.delays["select 1"];
    const probe = await pool.connect();
    await expect(probe.query("select 1", [])).resolves.toBeDefined();
    probe.release();
    expect(watch.answering).toBe(true);
    expect(watch.timeouts).toEqual({ acquire: 0, statement: 1, not_answering: 1 });
  });

  it("lets no second probe through while one is out", async () => {
    const { fake, pool, watch } = budgeted({ probeEveryMs: 0 });
    fake.delays["select 1"] = Number.POSITIVE_INFINITY;
    const first = await pool.connect();
    await failure(first.query("select 1", []));
    first.release();
    const probe = await pool.connect();
    const probing = failure(probe.query("select 1", []));
    const other = await pool.connect();
    expect((await failure(other.query("select 1", []))).phase).toBe("not_answering");
    await probing;
    probe.release();
    other.release();
    expect(watch.answering).toBe(false);
  });
});

describe("isDatabaseTimeout", () => {
  it("covers our budgets and the server's statement_timeout (57014), both also unavailable", () => {
    const ours = new DatabaseTimeoutError("statement", 1000);
    const server = Object.assign(new Error("canceling statement due to statement timeout"), { code: "57014" });
    for (const err of [ours, server]) {
      expect(isDatabaseTimeout(err)).toBe(true);
      expect(isDatabaseUnavailable(err)).toBe(true);
    }
    expect(isDatabaseTimeout(Object.assign(new Error("x"), { code: "23505" }))).toBe(false);
  });
});

describe("withDatabaseBudget's scope", () => {
  /** An enabled AsyncLocalStorage's promise hook marks every new promise with its bookkeeping symbols. */
  const tracked = () => Object.getOwnPropertySymbols(Promise.resolve()).length > 0;

  it("is switched off when the last capped work settles, so later promises pay no hook", async () => {
    expect(tracked()).toBe(false);
    let inside = false;
    await withDatabaseBudget(50, async () => {
      await null;
      inside = tracked();
    });
    expect(inside).toBe(true);
    expect(tracked()).toBe(false);
    expect(budgetCap()).toBeUndefined();
  });

  it("keeps each overlapping call's cap until its own work settles", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const caps: Array<number | undefined> = [];
    const long = withDatabaseBudget(80, async () => {
      await gate;
      caps.push(budgetCap());
      await withDatabaseBudget(200, async () => void caps.push(budgetCap()));
    });
    await withDatabaseBudget(30, async () => void caps.push(budgetCap()));
    // The short call has settled; the long one is still waiting and must keep its cap.
    release();
    await long;
    expect(caps).toEqual([30, 80, 80]);
    expect(tracked()).toBe(false);
  });
});
