import { spawn, spawnSync } from "node:child_process";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CACHE_FORMAT, readCacheFile, writeCacheFile } from "../../src/client/cache-file.js";
import { REPO_ROOT } from "../support/spawn-server.js";

/**
 * The Python SDK (sdk/python) is tested by its own stdlib-unittest suite, which starts a real
 * registry itself; this file makes `npm test` run it and fail with its output. It also installs
 * the package the way TOOLCHAIN.md says works offline: Debian's interpreter, a fresh venv with
 * system site-packages (setuptools, wheel), pip without an index or build isolation.
 */
const SDK = path.join(REPO_ROOT, "sdk/python");
const DEBIAN_PYTHON = "/usr/bin/python3";

/** `python3` on PATH runs the suite as a user would (`python3 -m unittest discover sdk/python/tests`). */
function python(): string {
  const found = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : DEBIAN_PYTHON;
}

interface Run {
  code: number | null;
  output: string;
}

function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string>; timeoutMs: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1", PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_NO_INPUT: "1", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill("SIGTERM"), options.timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe("the Python SDK", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "pinset-python-sdk-"));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("passes its unittest suite against a real registry", async () => {
    const result = await run(python(), ["-m", "unittest", "discover", "-v", "sdk/python/tests"], {
      cwd: REPO_ROOT,
      // The registry the suite starts runs on this Node.
      env: { PINSET_TEST_NODE: process.execPath },
      timeoutMs: 540_000,
    });
    expect(result.code, result.output).toBe(0);
    const ran = /^Ran (\d+) tests? in /m.exec(result.output);
    expect(Number(ran?.[1] ?? 0), result.output).toBeGreaterThanOrEqual(50);
    expect(result.output).toMatch(/^OK/m);
  }, 600_000);

  it("shares the resolver cache file format with the JavaScript SDK, both ways", async () => {
    const id = `vs_${"c".repeat(24)}`;
    const bundle = { id, components: { cfg: { kind: "config", name: "app", version: 1, digest: `sha256:${"0".repeat(64)}`, content: { values: { a: 1 } } } } };
    const fromPython = path.join(dir, "from-python.json");
    const write = [
      "import sys, json",
      "from pinset._cache_file import CacheRecord, write_cache_file",
      "write_cache_file(sys.argv[1], CacheRecord('p', 'prod', 'tenant-1', sys.argv[2], '\"e\"', 'candidate', '2026-01-01T00:00:00.000Z', json.loads(sys.argv[3]), 7))",
    ].join("\n");
    const wrote = await run(python(), ["-c", write, fromPython, id, JSON.stringify(bundle)], { cwd: dir, env: { PYTHONPATH: path.join(SDK, "src") }, timeoutMs: 60_000 });
    expect(wrote.code, wrote.output).toBe(0);
    const read = await readCacheFile(fromPython, { project: "p", environment: "prod", subject: "tenant-1" });
    expect(read).toMatchObject({ ok: true, record: { version_set: id, etag: '"e"', assignment: "candidate", bundle } });

    const fromJs = path.join(dir, "from-js.json");
    await writeCacheFile(fromJs, { format: CACHE_FORMAT, project: "p", environment: "prod", subject: null, version_set: id, etag: '"e"', assignment: null, saved_at: new Date().toISOString(), bundle });
    const check = [
      "import sys, json",
      "from pinset._cache_file import CacheKey, read_cache_file",
      "got = read_cache_file(sys.argv[1], CacheKey('p', 'prod', None))",
      "print(json.dumps({'reason': got.reason, 'version_set': got.record and got.record.version_set, 'bundle': got.record and got.record.bundle}))",
    ].join("\n");
    const checked = await run(python(), ["-c", check, fromJs], { cwd: dir, env: { PYTHONPATH: path.join(SDK, "src") }, timeoutMs: 60_000 });
    expect(checked.code, checked.output).toBe(0);
    expect(JSON.parse(checked.output)).toEqual({ reason: null, version_set: id, bundle });
  });

  it("installs offline with pip into a fresh venv of Debian's python3 and imports", async () => {
    const check = spawnSync(DEBIAN_PYTHON, ["-c", "import ensurepip, setuptools, wheel"], { encoding: "utf8" });
    expect(check.status, `${DEBIAN_PYTHON} needs python3-venv, python3-setuptools and python3-wheel (.ci/run installs them): ${check.stderr}`).toBe(0);
    // A copy, so the in-tree build leaves no build/ or *.egg-info in the checkout.
    const source = path.join(dir, "pinset-sdk");
    await cp(SDK, source, { recursive: true, filter: (from) => !/(__pycache__|\/build$|\.egg-info$)/.test(from) });
    const venv = path.join(dir, "venv");
    const made = await run(DEBIAN_PYTHON, ["-m", "venv", "--system-site-packages", venv], { cwd: dir, timeoutMs: 120_000 });
    expect(made.code, made.output).toBe(0);
    const installed = await run(path.join(venv, "bin/pip"), ["install", "--no-index", "--no-build-isolation", source], { cwd: dir, timeoutMs: 180_000 });
    expect(installed.code, installed.output).toBe(0);
    expect(installed.output).toMatch(/Successfully installed pinset-0\.1\.0/);

    const probe = [
      "import json, importlib.metadata as md, pathlib, pinset",
      "from pinset import Resolver, Client, PinsetError, ResolverStartError, AsyncResolver",
      "print(json.dumps({'version': pinset.__version__, 'file': pinset.__file__, 'typed': (pathlib.Path(pinset.__file__).parent / 'py.typed').is_file(), 'requires': md.requires('pinset')}))",
    ].join("\n");
    const imported = await run(path.join(venv, "bin/python"), ["-c", probe], { cwd: dir, timeoutMs: 60_000 });
    expect(imported.code, imported.output).toBe(0);
    const facts = JSON.parse(imported.output.trim().split("\n").at(-1)!) as { version: string; file: string; typed: boolean; requires: string[] | null };
    expect(facts.version).toBe("0.1.0");
    expect(facts.file.startsWith(path.join(venv, "lib"))).toBe(true);
    expect(facts.typed).toBe(true);
    expect(facts.requires ?? []).toEqual([]);
  }, 300_000);
});
