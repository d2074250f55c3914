import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "vitest";
import { REPO_ROOT } from "./spawn-server.js";

/**
 * Compiles `files` (paths under src/) and what they import with the project's tsconfig, as
 * `npm run build` would, into a scratch directory under node_modules — so the compiled modules
 * resolve their dependencies like dist/ does. `out(file)` is where a source file's `.js` is.
 * For tests that must run the server's code with plain node (no tsx, no vitest transform).
 */
export async function compileForNode(prefix: string, files: string[]): Promise<{ out(file: string): string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(REPO_ROOT, "node_modules", `.pinset-${prefix}-`));
  const tsconfig = path.join(dir, "tsconfig.json");
  await writeFile(tsconfig, JSON.stringify({
    extends: path.join(REPO_ROOT, "tsconfig.json"),
    compilerOptions: { rootDir: path.join(REPO_ROOT, "src"), outDir: path.join(dir, "out"), declaration: false, sourceMap: false, noEmitOnError: true },
    include: [],
    files: files.map((file) => path.join(REPO_ROOT, file)),
  }));
  const tsc = spawnSync(process.execPath, [path.join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", tsconfig], { encoding: "utf8" });
  expect(tsc.status, `${tsc.stdout}${tsc.stderr}`).toBe(0);
  return {
    out: (file) => path.join(dir, "out", path.relative("src", file).replace(/\.ts$/, ".js")),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
