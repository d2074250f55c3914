import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

/**
 * The layering rules of docs/architecture.md (.dependency-cruiser.cjs): import cycles, core
 * importing ours, http importing a domain, a domain importing http outside its HTTP adapters,
 * a domain importing another domain's store, the SDK or CLI importing server code.
 * No exceptions: a violation fails the suite.
 */
describe("architecture rules", () => {
  it("src/ breaks none of the dependency rules", { timeout: 120_000 }, async () => {
    const result = await run("npx", ["depcruise", "src", "--config", ".dependency-cruiser.cjs", "--output-type", "err"], { cwd: process.cwd() }).then(
      (ok) => ({ code: 0, out: ok.stdout + ok.stderr }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, out: err.stdout + err.stderr }),
    );
    expect(result.out).not.toMatch(/error /);
    expect(result.code).toBe(0);
  });
});
