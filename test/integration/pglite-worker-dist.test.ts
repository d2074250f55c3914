/**
 * The embedded database's worker must also start when the server runs compiled (`node
 * dist/main.js`): its module is then `pglite-worker.js` next to the compiled client. This
 * compiles db/connect.ts and what it imports into a scratch directory and, with plain node (no
 * tsx, no vitest transform), opens a worker, runs a statement and a refused one, and closes it.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runNode } from "../e2e/cli-support.js";
import { REPO_ROOT } from "../support/spawn-server.js";

describe("the PGlite worker compiled to JavaScript", () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("starts from the compiled module, answers, keeps Postgres' error code and closes", async () => {
    // Under node_modules so the compiled files resolve kysely and PGlite like dist/ would.
    dir = await mkdtemp(path.join(REPO_ROOT, "node_modules", ".pinset-pglite-worker-dist-"));
    const tsconfig = path.join(dir, "tsconfig.json");
    await writeFile(tsconfig, JSON.stringify({
      extends: path.join(REPO_ROOT, "tsconfig.json"),
      compilerOptions: { rootDir: path.join(REPO_ROOT, "src"), outDir: path.join(dir, "out"), declaration: false, sourceMap: false, noEmitOnError: true },
      include: [],
      files: [path.join(REPO_ROOT, "src/db/connect.ts"), path.join(REPO_ROOT, "src/db/pglite-worker.ts")],
    }));
    const tsc = spawnSync(process.execPath, [path.join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", tsconfig], { encoding: "utf8" });
    expect(tsc.status, `${tsc.stdout}${tsc.stderr}`).toBe(0);

    const script = `
      const { connectPgliteWorker } = await import(${JSON.stringify(path.join(dir, "out/db/connect.js"))});
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
