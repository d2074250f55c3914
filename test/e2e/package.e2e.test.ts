/**
 * SLOW (1–4 minutes: a full build, an install, a server start). The npm package as a user gets
 * it: a clean copy of the repository (`git ls-files`, this checkout's node_modules hard-linked in)
 * is packed with `npm pack` — which runs `prepare`, as an install from git does — and the
 * tarball is installed into an empty project from this machine's npm cache. There the SDK is
 * imported (`pinset/client`: createClient, createResolver), `npx pinset --help` runs, and the
 * compiled server in the package starts and answers /readyz.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, REPO_ROOT } from "../support/spawn-server.js";

const quiet = { npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" };

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, ...quiet, ...env }, maxBuffer: 64 * 1024 * 1024 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, out: `${result.stdout}\n${result.stderr}` };
}

describe("the npm package", () => {
  let tmp: string;
  let tarball: string;
  let files: string[];
  let consumer: string;
  const version = JSON.parse(spawnSync("git", ["show", "HEAD:package.json"], { cwd: REPO_ROOT, encoding: "utf8" }).stdout || "{}").version as string | undefined;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), "pinset-package-"));
    const checkout = path.join(tmp, "checkout");
    const listed = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: REPO_ROOT, encoding: "utf8" }).stdout.split("\0").filter(Boolean);
    for (const file of listed) {
      if (!existsSync(path.join(REPO_ROOT, file))) continue;
      await mkdir(path.dirname(path.join(checkout, file)), { recursive: true });
      await cp(path.join(REPO_ROOT, file), path.join(checkout, file));
    }
    // A tree of hard links (fast, and real paths: through a symlink tsc's declarations would name this checkout's paths).
    const linked = run("cp", ["-al", path.join(REPO_ROOT, "node_modules"), path.join(checkout, "node_modules")], tmp);
    if (linked.code !== 0) await cp(path.join(REPO_ROOT, "node_modules"), path.join(checkout, "node_modules"), { recursive: true });
    const packed = run("npm", ["pack", "--json", "--pack-destination", tmp], checkout);
    expect(packed.code, packed.out).toBe(0);
    // `npm pack --json` prints prepare's output first; the JSON report is the last thing on stdout.
    const report = JSON.parse(packed.stdout.slice(packed.stdout.lastIndexOf("\n[") + 1)) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = path.join(tmp, report[0]!.filename);
    files = report[0]!.files.map((f) => f.path);

    consumer = path.join(tmp, "consumer");
    await mkdir(consumer);
    await writeFile(path.join(consumer, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true, type: "module" }));
    const installed = run("npm", ["install", tarball, "--prefer-offline", "--no-audit", "--no-fund"], consumer);
    expect(installed.code, installed.out).toBe(0);
  }, 600_000);

  afterAll(async () => rm(tmp, { recursive: true, force: true }));

  it("holds the compiled server, CLI and client, and no sources, tests or build leftovers", () => {
    for (const file of ["dist/main.js", "dist/cli/main.js", "dist/client/index.js", "dist/client/index.d.ts", "dist/schemas/schema-worker.js", "dist/console/manifest.json", "dist/console/index.html", "bin/pinset.js", "migrations/0001_init.sql", "openapi/pinset.yaml", "package.json"]) {
      expect(files, file).toContain(file);
    }
    for (const file of files) expect(file).not.toMatch(/^(src|test|scripts|examples|node_modules)\/|\.tsbuildinfo$|^dist\/embedded-template\/|\.ts$(?<!\.d\.ts$)/);
  });

  it("import { createClient, createResolver } from \"pinset/client\" works in an empty project", async () => {
    await writeFile(
      path.join(consumer, "sdk.mjs"),
      `import { createClient, createResolver, PinsetApiError } from "pinset/client";
       const client = createClient({ url: "http://127.0.0.1:9", token: "x" });
       console.log(JSON.stringify({ createClient: typeof createClient, createResolver: typeof createResolver, error: typeof PinsetApiError, get: typeof client.GET }));`,
    );
    const result = run(process.execPath, ["sdk.mjs"], consumer);
    expect(result.code, result.out).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ createClient: "function", createResolver: "function", error: "function", get: "function" });
    // The types a TypeScript user gets with the import.
    const pkg = JSON.parse(await readFile(path.join(consumer, "node_modules/pinset/package.json"), "utf8"));
    expect(existsSync(path.join(consumer, "node_modules/pinset", pkg.exports["./client"].types))).toBe(true);
    // Production dependencies only: no TypeScript toolchain came with it.
    for (const dev of ["tsx", "typescript", "vitest"]) expect(existsSync(path.join(consumer, "node_modules", dev)), dev).toBe(false);
  });

  it("npx pinset --help and --version run the compiled CLI", () => {
    const help = run("npx", ["--no-install", "pinset", "--help"], consumer);
    expect(help.code, help.out).toBe(0);
    expect(help.stdout).toContain("Usage: pinset <command> [options]");
    const shown = run("npx", ["--no-install", "pinset", "--version"], consumer);
    expect(shown.code, shown.out).toBe(0);
    expect(shown.stdout.trim()).toBe(version);
  });

  it("the compiled server in the package starts (migrations and the OpenAPI document found) and answers /readyz 200", async () => {
    const port = await freePort();
    const dataDir = path.join(tmp, "data");
    const child = spawn(process.execPath, ["node_modules/pinset/dist/main.js"], { cwd: consumer, env: { PATH: process.env.PATH ?? "", PORT: String(port), PINSET_DATA_DIR: dataDir, LOG_LEVEL: "warn" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    try {
      const deadline = Date.now() + 120_000;
      let status = 0;
      while (status !== 200) {
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}:\n${out}`);
        if (Date.now() > deadline) throw new Error(`no /readyz 200:\n${out}`);
        status = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0);
        if (status !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      const spec = await fetch(`http://127.0.0.1:${port}/openapi.yaml`);
      expect(spec.status).toBe(200);
    } finally {
      child.kill("SIGTERM");
      await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once("exit", resolve)));
    }
  }, 180_000);
});
