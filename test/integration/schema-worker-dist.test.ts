/**
 * The schema worker must also start when the server runs compiled (`node dist/main.js`): the
 * worker module is then a `.js` file next to the pool's own module. This compiles the pool and
 * everything it imports with the project's tsconfig into a scratch directory and runs a compile,
 * a time-out and a comparison there with plain node (no tsx, no vitest transform).
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/spawn-server.js";
import { runNode } from "../e2e/cli-support.js";

describe("schema workers compiled to JavaScript", () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("compile, time out and compare in a worker started from the compiled module", async () => {
    // Under node_modules so the compiled files resolve ajv like dist/ would.
    dir = await mkdtemp(path.join(REPO_ROOT, "node_modules", ".pinset-worker-dist-"));
    const tsconfig = path.join(dir, "tsconfig.json");
    await writeFile(tsconfig, JSON.stringify({
      extends: path.join(REPO_ROOT, "tsconfig.json"),
      compilerOptions: { rootDir: path.join(REPO_ROOT, "src"), outDir: path.join(dir, "out"), declaration: false, sourceMap: false, noEmitOnError: true },
      include: [],
      files: [path.join(REPO_ROOT, "src/schemas/schema-workers.ts")],
    }));
    const tsc = spawnSync(process.execPath, [path.join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", tsconfig], { encoding: "utf8" });
    expect(tsc.status, `${tsc.stdout}${tsc.stderr}`).toBe(0);

    const script = `
      const { SchemaWorkers } = await import(${JSON.stringify(path.join(dir, "out/schemas/schema-workers.js"))});
      const logger = { child() { return logger; }, warn() {}, info() {} };
      const workers = new SchemaWorkers({ timeoutMs: 1000, workers: 1 }, logger);
      const bad = await workers.compile([{ path: "content.schema", schema: { type: 12 } }]);
      const good = await workers.compile([{ path: "content.schema", schema: { type: "object", properties: { a: { $ref: "#/$defs/x" } }, $defs: { x: { type: "string" } } } }]);
      const props = Object.fromEntries(Array.from({ length: 4000 }, (_, i) => ["p" + i, { type: "string", minLength: 1 }]));
      const slow = await workers.compile([{ path: "content.schema", schema: { $defs: { big: { properties: props } }, allOf: Array.from({ length: 1000 }, () => ({ $ref: "#/$defs/big" })) } }]);
      const diff = await workers.diff("contract", { schema: { type: "string" } }, { schema: { type: "number" } }, {});
      await workers.stop();
      process.stdout.write(JSON.stringify({ bad, good, slow, diff }));
    `;
    const result = await runNode(["--input-type=module", "-e", script], { cwd: REPO_ROOT });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/tsx/);
    const out = JSON.parse(result.stdout);
    expect(out.bad[0].message).toMatch(/does not compile as JSON Schema 2020-12/);
    expect(out.good).toEqual([]);
    expect(out.slow).toEqual([{ path: "content.schema", message: "schema too complex to compile within 1000 ms" }]);
    expect(out.diff.changes[0]).toEqual({ path: "$.type", breaking: true, message: 'type changed from "string" to "number"' });
  }, 180_000);
});
