import { createServer, type Server, type Socket } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDatabaseUnavailable, isUniqueViolation } from "../../src/db/errors.js";

/** A TCP server that accepts and never answers (a hung database), or drops every connection at once. */
async function tcpServer(onConnection: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as { port: number }).port };
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected a failure");
}

describe("isDatabaseUnavailable", () => {
  const sockets: Socket[] = [];
  let silent: { server: Server; port: number };
  let slamming: { server: Server; port: number };
  let refusedPort: number;

  beforeAll(async () => {
    silent = await tcpServer((socket) => void sockets.push(socket));
    slamming = await tcpServer((socket) => socket.destroy());
    const closed = await tcpServer(() => {});
    refusedPort = closed.port;
    await new Promise<void>((resolve) => closed.server.close(() => resolve()));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all([silent, slamming].map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))));
  });

  it("recognises what pg and pg-pool throw when the server is gone, hung or hangs up", async () => {
    const pool = (port: number) => {
      const p = new pg.Pool({ host: "127.0.0.1", port, user: "x", database: "x", connectionTimeoutMillis: 200, max: 1 });
      p.on("error", () => {});
      return p;
    };
    const refused = pool(refusedPort);
    const hung = pool(silent.port);
    const hungUp = pool(slamming.port);
    try {
      const errors = {
        refused: await errorOf(refused.query("select 1")),
        poolConnectTimeout: await errorOf(hung.query("select 1")),
        hungUp: await errorOf(hungUp.query("select 1")),
      };
      expect(errors.poolConnectTimeout).toMatchObject({ message: expect.stringMatching(/timeout/i) });
      for (const [what, err] of Object.entries(errors)) expect(isDatabaseUnavailable(err), `${what}: ${String(err)}`).toBe(true);
    } finally {
      await Promise.all([refused.end(), hung.end(), hungUp.end()]);
    }
  });

  it("tells connection classes of SQLSTATE from query errors", () => {
    const sqlstate = (code: string) => Object.assign(new Error("x"), { code });
    for (const code of ["08006", "08001", "57P01", "57P03", "53300"]) expect(isDatabaseUnavailable(sqlstate(code)), code).toBe(true);
    for (const code of ["23505", "42P01", "22P02", "40001"]) expect(isDatabaseUnavailable(sqlstate(code)), code).toBe(false);
    expect(isDatabaseUnavailable(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([sqlstate("ECONNREFUSED"), sqlstate("ECONNREFUSED")], "connect failed"))).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([sqlstate("ECONNREFUSED"), sqlstate("42P01")]))).toBe(false);
    expect(isDatabaseUnavailable(new Error("wrapped", { cause: sqlstate("ECONNRESET") }))).toBe(true);
    expect(isDatabaseUnavailable(null)).toBe(false);
    expect(isDatabaseUnavailable("ECONNREFUSED")).toBe(false);
    expect(isUniqueViolation(sqlstate("23505"))).toBe(true);
  });
});
