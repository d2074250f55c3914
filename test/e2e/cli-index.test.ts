import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, backends, startTestApp, type TestApp } from "../support/test-app.js";
import { cliFor, counter, ensureCliBuilt, json, ROOT, runNode } from "./cli-support.js";

const BYTES_IN = "pinset_blob_bytes_in_total";

function digest(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

interface Manifest {
  files: { path: string; digest: string; size: number }[];
  metadata?: Record<string, string>;
}

describe.each(backends())("pinset publish index on $name", (backend) => {
  let t: TestApp;
  let cli: ReturnType<typeof cliFor>;
  let root: string;
  let kb: string;
  const files = new Map<string, Buffer>();

  async function put(rel: string, data: Buffer) {
    await mkdir(path.dirname(path.join(kb, rel)), { recursive: true });
    await writeFile(path.join(kb, rel), data);
    files.set(rel, data);
  }

  async function manifestOf(name: string): Promise<Manifest> {
    return (await (await t.request("GET", `/v1/projects/idx/artifacts/index/${name}/versions/latest`)).json()).content;
  }

  async function manifest(version: number): Promise<Manifest> {
    return (await (await t.request("GET", `/v1/projects/idx/artifacts/index/kb/versions/${version}`)).json()).content;
  }

  beforeAll(async () => {
    [t, root] = await Promise.all([startTestApp(backend), mkdtemp(path.join(tmpdir(), "pinset-index-")), ensureCliBuilt()]);
    expect((await t.request("PUT", "/v1/projects/idx")).status).toBe(201);
    cli = cliFor(t, "idx");
    kb = path.join(root, "kb");
    for (let i = 0; i < 12; i++) await put(`shard-${String(i).padStart(2, "0")}.bin`, Buffer.alloc(40_000 + i * 1000, i + 1));
    await put("docs/guide/intro.md", Buffer.from("# Intro\n"));
    await put("docs/copy-of-intro.md", Buffer.from("# Intro\n")); // same bytes: uploaded once
    await put("empty.txt", Buffer.alloc(0));
  }, 180_000);
  afterAll(async () => {
    await t?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("walks the directory, uploads each distinct blob once, and publishes the manifest", async () => {
    const before = await counter(t, BYTES_IN);
    const r = await cli(["publish", "index", "kb", "--dir", kb, "--metadata", "source=wiki", "--metadata", "snapshot=2025-03-01"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(""); // no progress bar when stderr is not a terminal
    expect(r.stdout).toMatch(/^Published index\/kb version 1 \(sha256:[0-9a-f]{12}\): 15 files, .*; uploaded 14 blobs \(.+\) in .+, 0 already present\n$/);

    const m = await manifest(1);
    expect(m.metadata).toEqual({ source: "wiki", snapshot: "2025-03-01" });
    const expected = [...files].map(([p, data]) => ({ path: p, digest: digest(data), size: data.length })).sort((a, b) => (a.path < b.path ? -1 : 1));
    expect(m.files).toEqual(expected);
    const distinct = new Map(expected.map((f) => [f.digest, f.size]));
    expect((await counter(t, BYTES_IN)) - before).toBe([...distinct.values()].reduce((a, b) => a + b, 0));
  });

  it("re-running on the unchanged directory uploads nothing and returns the same version", async () => {
    const before = await counter(t, BYTES_IN);
    const r = await cli(["publish", "index", "kb", "--dir", kb, "--metadata", "source=wiki", "--metadata", "snapshot=2025-03-01", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(json(r)).toMatchObject({ kind: "index", name: "kb", version: 1 });
    expect(await counter(t, BYTES_IN)).toBe(before);

    const human = await cli(["publish", "index", "kb", "--dir", kb, "--metadata", "source=wiki", "--metadata", "snapshot=2025-03-01"]);
    expect(human.stdout).toMatch(/^Unchanged: index\/kb version 1 .* uploaded nothing, 14 already present\n$/);
  });

  it("uploads only the changed and new files of a modified directory", async () => {
    await put("shard-03.bin", Buffer.alloc(43_000, 0xee));
    await put("docs/new.md", Buffer.from("new page\n"));
    const before = await counter(t, BYTES_IN);
    const r = await cli(["publish", "index", "kb", "--dir", kb, "--concurrency", "2", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ version: 2 });
    expect((await counter(t, BYTES_IN)) - before).toBe(43_000 + "new page\n".length);
    expect((await manifest(2)).files.map((f) => f.path)).toContain("docs/new.md");
  });

  it("draws a progress bar only on a terminal, and never with --json", async () => {
    await put("shard-99.bin", Buffer.alloc(30_000, 0x42));
    const env = { PINSET_URL: t.url, PINSET_TOKEN: ADMIN_TOKEN, PINSET_PROJECT: "idx" };
    // `script` gives the CLI a pseudo-terminal, as a person at a shell would.
    const inTty = (args: string) => runNode(["-e", `require("child_process").execFileSync("script", ["-qec", ${JSON.stringify(`node bin/pinset.js ${args}`)}, "/dev/null"], { stdio: "inherit" })`], { cwd: ROOT, env });
    const tty = await inTty(`publish index kb --dir ${kb}`);
    expect(tty.code, tty.stderr).toBe(0);
    expect(tty.stdout).toMatch(/\[[#-]+\]\s+\d+%\s+.+ \/ .+ETA/);
    expect(tty.stdout).toMatch(/Published index\/kb version 3/);
    const quiet = await inTty(`publish index kb --dir ${kb} --json`);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).not.toMatch(/ETA|%/);
    expect(quiet.stdout).toMatch(/"version": 3/);
  });

  it("publishes no version when an upload is refused, and says why on one line (exit 1)", async () => {
    const created = await t.request("POST", "/v1/tokens", { body: { name: "reader", scopes: ["read"], projects: ["idx"] } });
    expect(created.status, await created.clone().text()).toBe(201);
    const { token } = (await created.json()) as { token: string };
    await put("docs/only-new.md", Buffer.from("not uploaded\n"));
    const before = await (await t.request("GET", "/v1/projects/idx/artifacts/index/kb")).json();
    const r = await cli(["publish", "index", "kb", "--dir", kb], { env: { PINSET_TOKEN: token } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^pinset: .+ \(forbidden, trace [^)]+\)\n$/);
    expect(await (await t.request("GET", "/v1/projects/idx/artifacts/index/kb")).json()).toEqual(before);
  });

  it("refuses a missing or non-directory --dir with a usage error (exit 2)", async () => {
    const missing = await cli(["publish", "index", "kb"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing --dir <dir>/);
    const notDir = await cli(["publish", "index", "kb", "--dir", path.join(kb, "empty.txt")]);
    expect(notDir.code).toBe(2);
    expect(notDir.stderr).toMatch(/is not a directory/);
    const wrongKind = await cli(["publish", "prompt", "kb", "--dir", kb]);
    expect(wrongKind.code).toBe(2);
  });

  it("refuses a directory with no files (exit 2, nothing published) unless --allow-empty", async () => {
    const empty = path.join(root, "empty-kb");
    await mkdir(path.join(empty, "nested", "deeper"), { recursive: true });
    const refused = await cli(["publish", "index", "blank", "--dir", empty]);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toBe(`pinset: ${empty} has no files to publish; pass --allow-empty to publish an index with 0 files (run 'pinset publish --help' for usage)\n`);
    expect((await t.request("GET", "/v1/projects/idx/artifacts/index/blank")).status).toBe(404);

    const allowed = await cli(["publish", "index", "blank", "--dir", empty, "--allow-empty", "--json"]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(json(allowed)).toMatchObject({ kind: "index", name: "blank", version: 1 });
    expect(await manifestOf("blank")).toEqual({ files: [] });
    const notWithFile = await cli(["publish", "config", "x", "--file", "x.json", "--allow-empty"]);
    expect(notWithFile.code).toBe(2);
    expect(notWithFile.stderr).toMatch(/--allow-empty goes with --dir/);
  });
});
