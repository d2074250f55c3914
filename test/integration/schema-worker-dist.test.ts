/**
 * The schema worker must also start when the server runs compiled (`node dist/main.js`): the
 * worker module is then a `.js` file next to the pool's own module. This compiles the pool and
 * everything it imports with the project's tsconfig into a scratch directory and runs a compile,
 * a time-out and a comparison there with plain node (no tsx, no vitest transform).
 */
import { afterAll, describe, expect, it } from "vitest";
import { compileForNode } from "../support/compile-dist.js";
import { REPO_ROOT } from "../support/spawn-server.js";
import { runNode } from "../e2e/cli-support.js";

describe("schema workers compiled to JavaScript", () => {
  let compiled: Awaited<ReturnType<typeof compileForNode>> | undefined;
  afterAll(async () => compiled?.remove());

  it("compile, time out and compare in a worker started from the compiled module", async () => {
    compiled = await compileForNode("worker-dist", ["src/schemas/schema-workers.ts"]);

    const script = `
      const { SchemaWorkers } = await import(${JSON.stringify(compiled.out("src/schemas/schema-workers.ts"))});
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
