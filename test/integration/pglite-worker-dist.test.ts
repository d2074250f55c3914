/**
 * The embedded database's worker must also start when the server runs compiled (`node
 * dist/main.js`): its module is then `pglite-worker.js` next to the compiled client. This
 * compiles db/connect.ts and what it imports into a scratch directory and, with plain node (no
 * tsx, no vitest transform), opens a worker, runs a statement and a refused one, and closes it.
 */
import { afterAll, describe, expect, it } from "vitest";
import { runNode } from "../e2e/cli-support.js";
import { compileForNode } from "../support/compile-dist.js";
import { REPO_ROOT } from "../support/spawn-server.js";

describe("the PGlite worker compiled to JavaScript", () => {
  let compiled: Awaited<ReturnType<typeof compileForNode>> | undefined;
  afterAll(async () => compiled?.remove());

  it("starts from the compiled module, answers, keeps Postgres' error code and closes", async () => {
    // pglite-worker.ts is named too: nothing imports it (the client starts it by path), as in tsconfig.build.json's include.
    compiled = await compileForNode("pglite-worker-dist", ["src/db/connect.ts", "src/db/pglite-worker.ts"]);

    const script = `
      const { connectPgliteWorker } = await import(${JSON.stringify(compiled.out("src/db/connect.ts"))});
      const { sql } = await import("kysely");
      const handle = await connectPgliteWorker({});
      const { rows } = await sql\`select 40 + 2 as n\`.execute(handle.db);
      await sql\`create table t (id int primary key)\`.execute(handle.db);
      await sql\`insert into t values (1)\`.execute(handle.db);
      const refused = await sql\`insert into t values (1)\`.execute(handle.db).catch((err) => err.code);
      await handle.close();
      process.stdout.write(JSON.stringify({ n: rows[0].n, refused }));
    `;
    const result = await runNode(["--input-type=module", "-e", script], { cwd: REPO_ROOT });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/tsx/);
    expect(JSON.parse(result.stdout)).toEqual({ n: 42, refused: "23505" });
  }, 180_000);
});
