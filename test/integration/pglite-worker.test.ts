/**
 * Issue 20: the embedded registry runs PGlite in a worker thread (db/pglite-worker*.ts). The
 * registry's representative paths against that handle — deploy, resolve, rollback, a unique
 * violation answered 409, a rolled-back transaction, a NOTIFY reaching the change feed — then
 * what the thread is for: while the worker runs a heavy statement, this thread still answers.
 * Run any "pglite" suite on the worker too with PINSET_TEST_PGLITE=worker.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_TIMEOUT_CODE, DatabaseTimeoutError, withDatabaseBudget } from "../../src/db/budgets.js";
import { connectPgliteWorker } from "../../src/db/connect.js";
import { isDatabaseUnavailable } from "../../src/db/errors.js";
import { EMBEDDED_DATABASE_GONE_CODE } from "../../src/db/pglite-worker-protocol.js";
import { deployedEnv, envPath, makeSets } from "../support/rollouts.js";
import { startTestApp, type Backend, type TestApp } from "../support/test-app.js";

const WORKER: Backend = { name: "pglite-worker+fs", database: "pglite-worker", blobs: "fs" };

/** A single statement that keeps PGlite busy for about a second or more on this machine. */
const HEAVY = sql<{ n: number }>`select count(*)::int as n from generate_series(1, 6000000) as g(i) where i % 7 = 3`;

describe("the registry on PGlite in a worker thread", () => {
  let t: TestApp;
  let sets: string[];
  const resolvePath = envPath("demo", "prod", "/resolve");

  beforeAll(async () => {
    t = await startTestApp(WORKER);
    expect((await t.request("PUT", "/v1/projects/demo")).status).toBe(201);
    sets = await makeSets(t, "demo", 3);
    await deployedEnv(t, "demo", "prod", sets[0]!);
  }, 180_000);
  afterAll(async () => t?.close());

  it("runs on the worker's handle, not an in-thread PGlite", () => {
    expect(t.db.handle.pglite).toBeUndefined();
    expect(t.db.handle.embedded).toBeDefined();
  });

  it("deploys, resolves and rolls back; each change reaches the change feed", async () => {
    const heard: number[] = [];
    const off = t.feed!.subscribe({ onChange: (c) => c.environment === "prod" && heard.push(c.revision) });
    try {
      expect((await t.request("GET", resolvePath)).headers.get("x-pinset-version-set")).toBe(sets[0]);
      const deployed = await t.request("POST", envPath("demo", "prod", "/deploy"), { body: { version_set: sets[1] } });
      expect(deployed.status, await deployed.clone().text()).toBe(200);
      const { revision } = (await deployed.json()) as { revision: number };
      expect((await t.request("GET", resolvePath)).headers.get("x-pinset-version-set")).toBe(sets[1]);

      const rolledBack = await t.request("POST", envPath("demo", "prod", "/rollback"), { body: {} });
      expect(rolledBack.status, await rolledBack.clone().text()).toBe(200);
      expect(await rolledBack.json()).toMatchObject({ active: sets[0], revision: revision + 1 });
      expect((await t.request("GET", resolvePath)).headers.get("x-pinset-version-set")).toBe(sets[0]);
      // NOTIFY is sent at commit; the worker posts it before the statement's answer.
      expect(heard).toEqual([revision, revision + 1]);
    } finally {
      off();
    }
  });

  it("a unique violation in the worker keeps its Postgres code: a second collection answers 409 gc_running", async () => {
    await sql`insert into gc_runs (id, project, dry_run, state, trigger, actor) values ('gc_0000000000000000000000aa', null, true, 'running', 'api', 'test')`.execute(t.db.handle.db);
    try {
      const refused = await t.request("POST", "/v1/admin/gc", { body: { dry_run: true } });
      expect(await refused.json()).toMatchObject({ status: 409, code: "gc_running" });
      const direct = await sql`insert into gc_runs (id, project, dry_run, state, trigger, actor) values ('gc_0000000000000000000000bb', null, true, 'running', 'api', 'test')`
        .execute(t.db.handle.db)
        .catch((err: unknown) => err as { code?: string; constraint?: string; name?: string });
      expect(direct).toMatchObject({ code: "23505", constraint: expect.any(String) });
    } finally {
      await sql`delete from gc_runs where id = 'gc_0000000000000000000000aa'`.execute(t.db.handle.db);
    }
  });

  it("a failed transaction is rolled back, and statements outside it wait for its end", async () => {
    const db = t.db.handle.db;
    let outsideRan = false;
    const failed = db.transaction().execute(async (trx) => {
      await sql`insert into projects (name) values ('tx-rolled-back')`.execute(trx);
      // A statement outside the transaction, asked for now, must not run inside it.
      void sql`select 1`.execute(db).then(() => (outsideRan = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(outsideRan).toBe(false);
      throw new Error("abandon");
    });
    await expect(failed).rejects.toThrow("abandon");
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from projects where name = 'tx-rolled-back'`.execute(db);
    expect(rows[0]!.n).toBe(0);
    await expect.poll(() => outsideRan).toBe(true);
  });

  it("while the worker runs a heavy statement, /healthz and a resolve from memory answer before it finishes", async () => {
    const warm = await t.request("GET", resolvePath);
    expect(warm.status).toBe(200);
    let heavyDone = false;
    const heavy = HEAVY.execute(t.db.handle.db).then((r) => {
      heavyDone = true;
      return r.rows[0]!.n;
    });
    // Let the statement reach the worker before asking.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const health = await t.request("GET", "/healthz", { token: null });
    const healthAnsweredFirst = !heavyDone;
    const resolved = await t.request("GET", resolvePath);
    const resolveAnsweredFirst = !heavyDone;
    expect(health.status).toBe(200);
    expect(resolved.status).toBe(200);
    expect(resolved.headers.get("x-pinset-version-set")).toBe(warm.headers.get("x-pinset-version-set"));
    expect({ healthAnsweredFirst, resolveAnsweredFirst }).toEqual({ healthAnsweredFirst: true, resolveAnsweredFirst: true });
    expect(await heavy).toBe(857_143);
  }, 180_000);
});

describe("withDatabaseBudget on the PGlite worker (a caller that holds a better answer than waiting)", () => {
  let handle: Awaited<ReturnType<typeof connectPgliteWorker>>;
  beforeAll(async () => {
    handle = await connectPgliteWorker({});
  }, 180_000);
  afterAll(async () => handle?.close());

  it("stops waiting after its cap with DatabaseTimeoutError (unavailable), and the session works afterwards", async () => {
    const heavy = HEAVY.execute(handle.db);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    const capped = await withDatabaseBudget(200, () => sql`select 1`.execute(handle.db)).catch((err: unknown) => err);
    const waited = performance.now() - started;
    expect(capped).toBeInstanceOf(DatabaseTimeoutError);
    expect(capped).toMatchObject({ code: DATABASE_TIMEOUT_CODE, phase: "acquire" });
    expect(isDatabaseUnavailable(capped)).toBe(true);
    // Checked against the heavy statement rather than a clock figure: it gave up before that ended.
    let heavyDone = false;
    void heavy.then(() => (heavyDone = true));
    await Promise.resolve();
    expect(heavyDone).toBe(false);
    expect(waited).toBeGreaterThanOrEqual(150);
    await heavy;
    expect((await sql<{ n: number }>`select 2 as n`.execute(handle.db)).rows[0]!.n).toBe(2);
  }, 180_000);

  it("goes ahead of statements waiting for the session (all but the one already sent behind the running one)", async () => {
    const order: string[] = [];
    const heavy = HEAVY.execute(handle.db).then(() => order.push("heavy"));
    await new Promise((resolve) => setTimeout(resolve, 100));
    // One statement may be sent while another runs (the worker starts it the moment the first ends).
    const sent = sql`select 'sent'`.execute(handle.db).then(() => order.push("sent"));
    await new Promise((resolve) => setImmediate(resolve));
    const ordinary = sql`select 'ordinary'`.execute(handle.db).then(() => order.push("ordinary"));
    await new Promise((resolve) => setImmediate(resolve));
    const urgent = withDatabaseBudget(60_000, () => sql`select 'urgent'`.execute(handle.db)).then(() => order.push("urgent"));
    await Promise.all([heavy, sent, ordinary, urgent]);
    expect(order).toEqual(["heavy", "sent", "urgent", "ordinary"]);
  }, 180_000);
});

describe("transactions on the PGlite worker", () => {
  let handle: Awaited<ReturnType<typeof connectPgliteWorker>>;
  beforeAll(async () => {
    handle = await connectPgliteWorker({});
    await sql`create table tx_probe (id int primary key)`.execute(handle.db);
  }, 180_000);
  afterAll(async () => handle?.close());

  /** The worker's answers (one per exchange) while `work` runs. */
  async function exchanges(work: () => Promise<unknown>): Promise<number> {
    let answers = 0;
    const count = () => answers++;
    handle.worker.worker.on("message", count);
    try {
      await work();
    } finally {
      handle.worker.worker.off("message", count);
    }
    return answers;
  }

  it("sends the begin with the first statement: two statements and a commit are three exchanges", async () => {
    const n = await exchanges(() =>
      handle.db.transaction().execute(async (trx) => {
        await sql`insert into tx_probe values (1)`.execute(trx);
        await sql`insert into tx_probe values (2)`.execute(trx);
      }),
    );
    expect(n).toBe(3);
    expect((await sql<{ n: number }>`select count(*)::int as n from tx_probe`.execute(handle.db)).rows[0]!.n).toBe(2);
  });

  it("keeps the isolation level and access mode given to the transaction", async () => {
    const seen = await handle.db
      .transaction()
      .setIsolationLevel("serializable")
      .setAccessMode("read only")
      .execute(async (trx) => (await sql<{ level: string; ro: string }>`select current_setting('transaction_isolation') as level, current_setting('transaction_read_only') as ro`.execute(trx)).rows[0]);
    expect(seen).toEqual({ level: "serializable", ro: "on" });
  });

  it("a transaction that runs no statement sends nothing, committed or rolled back", async () => {
    expect(await exchanges(() => handle.db.transaction().execute(async () => {}))).toBe(0);
    const abandoned = handle.db.transaction().execute(async () => {
      throw new Error("before any statement");
    });
    expect(await exchanges(() => abandoned.catch(() => {}))).toBe(0);
    await expect(abandoned).rejects.toThrow("before any statement");
  });

  it("a connection used for several statements outside a transaction takes a turn for each", async () => {
    const rows = await handle.db.connection().execute(async (conn) => {
      const a = await sql<{ n: number }>`select 1 as n`.execute(conn);
      const b = await sql<{ n: number }>`select 2 as n`.execute(conn);
      return [...a.rows, ...b.rows];
    });
    expect(rows).toEqual([{ n: 1 }, { n: 2 }]);
    expect((await sql<{ n: number }>`select 3 as n`.execute(handle.db)).rows).toEqual([{ n: 3 }]);
  });

  it("a transaction opened with a raw begin on one connection keeps every other statement out until its end", async () => {
    let outsideRan = false;
    await handle.db.connection().execute(async (conn) => {
      await sql`begin`.execute(conn);
      await sql`insert into tx_probe values (10)`.execute(conn);
      void sql`select 1`.execute(handle.db).then(() => (outsideRan = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(outsideRan).toBe(false);
      await sql`rollback`.execute(conn);
    });
    await expect.poll(() => outsideRan).toBe(true);
    expect((await sql<{ n: number }>`select count(*)::int as n from tx_probe where id = 10`.execute(handle.db)).rows[0]!.n).toBe(0);
  });

  it("a first statement that fails leaves nothing behind and the session usable", async () => {
    const failed = handle.db.transaction().execute(async (trx) => {
      await sql`insert into tx_probe values (1)`.execute(trx);
    });
    await expect(failed).rejects.toMatchObject({ code: "23505" });
    expect((await sql<{ n: number }>`select count(*)::int as n from tx_probe`.execute(handle.db)).rows[0]!.n).toBe(2);
    // A savepoint needs an open transaction block: refused, so none was left open.
    await expect(sql`savepoint probe`.execute(handle.db)).rejects.toMatchObject({ code: "25P01" });
  });
});

describe("a PGlite worker that dies or is closed", () => {
  it("fails the pending statement and every later one with a clear error, and tells the change feed", async () => {
    const handle = await connectPgliteWorker({});
    let lost: Error | undefined;
    handle.worker.onLost((err) => (lost = err));
    const pending = HEAVY.execute(handle.db).catch((err: unknown) => err as Error);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await handle.worker.worker.terminate();
    const err = await pending;
    expect(err).toMatchObject({ code: EMBEDDED_DATABASE_GONE_CODE, message: expect.stringMatching(/worker thread stopped/) });
    expect(isDatabaseUnavailable(err)).toBe(true);
    expect(lost).toBe(err);
    await expect(sql`select 1`.execute(handle.db)).rejects.toMatchObject({ code: EMBEDDED_DATABASE_GONE_CODE });
    await handle.close();
  }, 180_000);

  it("close ends the thread after the statements already sent; later ones fail as closed", async () => {
    const handle = await connectPgliteWorker({});
    let exited: number | undefined;
    handle.worker.worker.once("exit", (code) => (exited = code));
    const sent = sql<{ n: number }>`select 41 + 1 as n`.execute(handle.db);
    // kysely takes the connection a few promise turns after execute(): then it is asked for.
    await new Promise((resolve) => setImmediate(resolve));
    await handle.close();
    expect((await sent).rows[0]!.n).toBe(42);
    await expect.poll(() => exited).toBeDefined();
    await expect(handle.worker.query("select 1", [])).rejects.toMatchObject({ code: EMBEDDED_DATABASE_GONE_CODE, message: expect.stringMatching(/closed/) });
  }, 180_000);
});
