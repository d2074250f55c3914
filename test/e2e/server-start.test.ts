import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT_CODES } from "../../src/start-up-errors.js";
import { POSTGRES_URL } from "../support/databases.js";
import { freePort, spawnServer } from "../support/spawn-server.js";

const STACK_LINE = /\n\s+at .+:\d+/;

describe("npm start on the embedded default", () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "pinset-start-"));
  });
  afterAll(async () => rm(dataDir, { recursive: true, force: true }));

  it("prints where it listens and the admin token once, keeps data across restarts, and refuses a second process", async () => {
    const first = await spawnServer({ PINSET_DATA_DIR: dataDir });
    try {
      // The first line comes at once, before the database starts; the listen line when ready.
      expect(first.stdout()).toMatch(new RegExp(`^starting the embedded database in ${dataDir}/db …\nPinset listening on `));
      expect(first.stdout()).toContain(`Pinset listening on ${first.url}`);
      const token = /admin token \(shown once.*\):\n\s+(pst_\S+)/.exec(first.stdout())?.[1];
      expect(token).toBeDefined();
      expect((await readFile(path.join(dataDir, "admin-token"), "utf8")).trim()).toBe(token);
      expect((await stat(path.join(dataDir, "admin-token"))).mode & 0o777).toBe(0o600);

      const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      expect((await fetch(`${first.url}/v1/projects/keep`, { method: "PUT", headers: auth })).status).toBe(201);
      const published = await fetch(`${first.url}/v1/projects/keep/artifacts/config/app`, { method: "POST", headers: auth, body: JSON.stringify({ content: { values: { a: 1 } } }) });
      expect(published.status).toBe(201);

      // A second process on the same data directory must refuse, not corrupt it.
      const second = await spawnServer({ PINSET_DATA_DIR: dataDir }, { waitForListen: false });
      expect(await second.exited).toBe(EXIT_CODES.dataDirInUse);
      expect(second.stderr()).toMatch(/^pinset: The data directory .* is in use by another Pinset process/);
      expect(second.stderr()).not.toMatch(STACK_LINE);
    } finally {
      expect(await first.stop()).toBe(0);
    }

    const restarted = await spawnServer({ PINSET_DATA_DIR: dataDir });
    try {
      expect(restarted.stdout()).not.toMatch(/pst_/);
      expect(restarted.stdout()).toContain("admin-token");
      const token = (await readFile(path.join(dataDir, "admin-token"), "utf8")).trim();
      const res = await fetch(`${restarted.url}/v1/projects/keep/artifacts/config/app/versions/1`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect((await res.json()).content).toEqual({ values: { a: 1 } });
    } finally {
      await restarted.stop();
    }
  }, 120_000);

  it("stops with one clear message listing every configuration problem", async () => {
    const bad = await spawnServer({ PINSET_DATA_DIR: dataDir, PORT: "99999", LOG_LEVEL: "loud", DATABASE_URL: "mysql://x" }, { waitForListen: false });
    expect(await bad.exited).toBe(EXIT_CODES.configuration);
    expect(bad.stderr()).toMatch(/Invalid configuration/);
    for (const name of ["PORT", "LOG_LEVEL", "DATABASE_URL"]) expect(bad.stderr()).toContain(name);
    expect(bad.stderr()).not.toMatch(STACK_LINE);
  });
});

describe("start-up errors: one line, a hint, a distinct exit code, no stack trace", () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "pinset-start-errors-"));
  });
  afterAll(async () => rm(scratch, { recursive: true, force: true }));

  it("a busy port: exit 3, names the port, suggests PORT=…, and writes nothing to the data directory", async () => {
    const port = await freePort();
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, "127.0.0.1", resolve));
    try {
      const dataDir = path.join(scratch, "busy-port");
      const run = await spawnServer({ PINSET_DATA_DIR: dataDir, PORT: String(port) }, { waitForListen: false });
      expect(await run.exited).toBe(EXIT_CODES.listen);
      expect(run.stderr()).toBe(`pinset: port ${port} is in use: another process listens on 127.0.0.1:${port}\n  hint: stop it, or choose another port: PORT=${port + 1} npm start\n`);
      expect(run.stdout()).not.toMatch(/pst_/);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it("Postgres unreachable: exit 5, says what was tried, never the password", async () => {
    const port = await freePort();
    const run = await spawnServer({ PINSET_DATA_DIR: path.join(scratch, "unreachable"), DATABASE_URL: `postgres://pinset:s3cret@127.0.0.1:${port}/registry` }, { waitForListen: false });
    expect(await run.exited).toBe(EXIT_CODES.databaseUnreachable);
    expect(run.stdout()).toContain(`connecting to Postgres at 127.0.0.1:${port}/registry as pinset …`);
    expect(run.stderr()).toMatch(new RegExp(`^pinset: cannot reach Postgres: tried 127\\.0\\.0\\.1:${port}/registry as pinset \\(ECONNREFUSED\\)\n  hint: is Postgres running there\\?`));
    expect(run.stderr()).not.toMatch(STACK_LINE);
    expect(`${run.stdout()}${run.stderr()}`).not.toContain("s3cret");
    expect(existsSync(path.join(scratch, "unreachable"))).toBe(false);
  });

  it.skipIf(!POSTGRES_URL)("a database that does not exist: exit 4 with the createdb command", async () => {
    const url = new URL(POSTGRES_URL!);
    url.pathname = "/pinset_missing_h12";
    const run = await spawnServer({ PINSET_DATA_DIR: path.join(scratch, "missing"), DATABASE_URL: url.toString() }, { waitForListen: false });
    expect(await run.exited).toBe(EXIT_CODES.databaseMissing);
    const host = url.hostname;
    const port = url.port || "5432";
    const user = decodeURIComponent(url.username || "postgres");
    expect(run.stderr()).toBe(
      `pinset: Postgres at ${host}:${port} has no database "pinset_missing_h12"\n  hint: create it: createdb -h ${host} -p ${port} -U ${user} pinset_missing_h12   (or point DATABASE_URL at an existing one)\n`,
    );
  });

  it("until the application is ready the port answers 503 (and /healthz 200), never a refused connection", async () => {
    const run = await spawnServer({ PINSET_DATA_DIR: path.join(scratch, "early") }, { waitForListen: false });
    try {
      const deadline = Date.now() + 60_000;
      while (!run.stdout().includes("starting the embedded database")) {
        if (Date.now() > deadline || run.child.exitCode !== null) throw new Error(`no start line: ${run.stdout()}${run.stderr()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      // The start line is printed once the port is bound; the database takes far longer than these two requests.
      const ready = await fetch(`${run.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.headers.get("content-type")).toBe("application/problem+json");
      expect((await ready.json()).code).toBe("starting");
      expect((await fetch(`${run.url}/healthz`)).status).toBe(200);
      expect(run.stdout()).not.toContain("Pinset listening on");
      while (!run.stdout().includes("Pinset listening on")) {
        if (Date.now() > deadline || run.child.exitCode !== null) throw new Error(`did not start: ${run.stdout()}${run.stderr()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect((await fetch(`${run.url}/readyz`)).status).toBe(200);
    } finally {
      await run.stop();
    }
  }, 120_000);
});
