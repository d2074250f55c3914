import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployedEnv, envPath, makeSets, startRollout } from "../support/rollouts.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { ADMIN_TOKEN, backends, startTestApp, type TestApp } from "../support/test-app.js";
import { cliFor, ensureCliBuilt, json, startCli } from "./cli-support.js";

/**
 * The release engineer's gate tools through the real binary: observe, gate-policy, evidence get
 * and rollout status --watch. The CLI is a client of the HTTP contract, so one backend is enough.
 */

/** A proxy to the registry that rewrites evidence answers with `tamper` (bytes changed in transit). */
async function tamperingProxy(target: string, tamper: (pack: Record<string, unknown>) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const upstream = await fetch(`${target}${req.url}`, { method: req.method, headers: { authorization: req.headers.authorization ?? "" } });
      let body = Buffer.from(await upstream.arrayBuffer());
      if (req.url?.includes("/evidence/") && upstream.ok) {
        const pack = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
        tamper(pack);
        body = Buffer.from(JSON.stringify(pack));
      }
      res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" }).end(body);
    })();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

describe.each(backends().slice(0, 1))("pinset gate commands on $name", (backend) => {
  let t: TestApp;
  let cli: ReturnType<typeof cliFor>;
  let dir: string;
  let sets: string[];

  beforeAll(async () => {
    [t, dir] = await Promise.all([startTestApp(backend), mkdtemp(path.join(tmpdir(), "pinset-gates-")), ensureCliBuilt()]);
    expect((await t.request("PUT", "/v1/projects/gates")).status).toBe(201);
    sets = await makeSets(t, "gates", 3);
    cli = cliFor(t, "gates");
  }, 180_000);
  afterAll(async () => {
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("observe: posts metrics for the stable and the candidate set (by name) and prints the decision", async () => {
    await deployedEnv(t, "gates", "obs", sets[0]!);
    const rollout = await startRollout(t, "gates", "obs", { candidate: sets[1], percent: 5 });
    const stable = await cli(["observe", "obs", "stable", "--metric", "quality.success_rate=0.95", "--metric", "latency.p95_ms=900", "--window", "15m"]);
    expect(stable.code, stable.stderr).toBe(0);
    expect(stable.stdout).toMatch(new RegExp(`^Recorded ob_[0-9a-f]{24} for the stable set ${sets[0]} \\(.+ – .+\\): quality\\.success_rate=0\\.95 latency\\.p95_ms=900\\ndecision: yellow → hold\\n$`));
    const candidate = await cli(["observe", "obs", "candidate", "--metric", "quality.success_rate=0.96", "--metric", "latency.p95_ms=880", "--window", "15m", "--trace-id", "4bf92f3577b34da6", "--json"]);
    expect(candidate.code, candidate.stderr).toBe(0);
    const recorded = json<{ side: string; version_set: string; window_start: string; window_end: string; sample_trace_ids: string[]; decision: { signal: string; action: string } }>(candidate);
    expect(recorded).toMatchObject({ side: "candidate", version_set: sets[1], sample_trace_ids: ["4bf92f3577b34da6"], decision: { signal: "green", action: "advance" } });
    expect(Date.parse(recorded.window_end) - Date.parse(recorded.window_start)).toBe(15 * 60_000);

    // From a file (nested metrics, its own window); a flag wins over the file's field.
    const file = path.join(dir, "observation.json");
    await writeFile(file, JSON.stringify({ version_set: sets[1], window_start: "2026-01-01T00:00:00Z", window_end: "2026-01-01T01:00:00Z", metrics: { quality: { success_rate: 0.9 }, cost: { tokens_per_request: 410 } } }));
    const fromFile = json<{ metrics: Record<string, number>; window_start: string; decision: { action: string } }>(await cli(["observe", "obs", "--file", file, "--metric", "quality.success_rate=0.97", "--json"]));
    expect(fromFile).toMatchObject({ metrics: { "quality.success_rate": 0.97, "cost.tokens_per_request": 410 }, window_start: "2026-01-01T00:00:00.000Z" });

    // Sample forms in a file, flat or nested, with requests and segments, are sent as they are.
    const samples = path.join(dir, "samples.json");
    const histogram = { buckets: [{ le: 500, count: 90 }, { le: "+Inf", count: 100 }] };
    await writeFile(samples, JSON.stringify({ version_set: sets[1], window_start: "2026-01-01T01:00:00Z", window_end: "2026-01-01T02:00:00Z", requests: 100, segments: { attack: 3 }, metrics: { "quality.success_rate": { count: 95, trials: 100 }, latency: { p95_ms: histogram } } }));
    const sampled = await cli(["observe", "obs", "--file", samples]);
    expect(sampled.code, sampled.stderr).toBe(0);
    expect(sampled.stdout).toMatch(/: quality\.success_rate=95\/100 latency\.p95_ms=histogram of 100\n/);
    const listed = (await (await t.request("GET", envPath("gates", "obs", "/observations?limit=1"))).json()) as { items: Array<Record<string, unknown>> };
    expect(listed.items[0]).toMatchObject({ requests: 100, segments: { attack: 3 }, metrics: { "quality.success_rate": { count: 95, trials: 100 }, "latency.p95_ms": histogram } });

    // What the registry refuses is exit 1 with its field errors; no rollout is exit 3.
    const refused = await cli(["observe", "obs", "stable", "--metric", "quality.success_rate=1.5", "--window", "5m"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/quality\.success_rate.*\(validation_failed, trace /);
    expect((await t.request("POST", envPath("gates", "obs", "/rollout/abort"), { body: {} })).status).toBe(200);
    const ended = await cli(["observe", "obs", "candidate", "--metric", "quality.success_rate=0.9", "--window", "5m"]);
    expect(ended.code).toBe(3);
    expect(ended.stderr).toBe(`pinset: no rollout is running on obs (the last one was aborted)\n`);
    const byId = await cli(["observe", "obs", rollout.candidate, "--metric", "quality.success_rate=0.9", "--window", "5m"]);
    expect(byId.code).toBe(3);
  }, 120_000);

  it("gate-policy get / set: defaults, --set and --steps, a file, and the registry's refusal of bands that do not nest", async () => {
    await deployedEnv(t, "gates", "policy", sets[0]!);
    const defaults = await cli(["gate-policy", "get", "policy"]);
    expect(defaults.code, defaults.stderr).toBe(0);
    expect(defaults.stdout).toContain("  quality  pass ≥ baseline − 0, hold ≥ − 0.03, pause ≥ − 0.05, else roll back\n");
    expect(defaults.stdout).toContain("  steps    1 → 5 → 25 → 50 → 100 ");
    const set = await cli(["gate-policy", "set", "policy", "--set", "quality.hold_drop=0.02", "--set", "latency.pause_ratio=1.3", "--steps", "10,50,100"]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^Updated the gate policy of policy\n/);
    expect(set.stdout).toContain("hold ≥ − 0.02");
    expect(set.stdout).toContain("  steps    10 → 50 → 100 ");
    const file = path.join(dir, "policy.yaml");
    await writeFile(file, "cost:\n  pass_ratio: 1.05\nrisk:\n  max_events: 0\n");
    const fromFile = json<{ quality: { hold_drop: number }; cost: { pass_ratio: number }; latency: { pause_ratio: number }; steps: number[] }>(await cli(["gate-policy", "set", "policy", "--file", file, "--json"]));
    expect(fromFile).toMatchObject({ quality: { hold_drop: 0.02 }, cost: { pass_ratio: 1.05 }, latency: { pause_ratio: 1.3 }, steps: [10, 50, 100] });
    expect(json(await cli(["gate-policy", "get", "policy", "--json"]))).toEqual(fromFile);

    const bad = await cli(["gate-policy", "set", "policy", "--set", "quality.hold_drop=0.2"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/quality\.pause_drop.*\(validation_failed, trace /);
    const unknown = await cli(["gate-policy", "set", "policy", "--set", "quality.speed=1"]);
    expect(unknown.code).toBe(1);
    expect((await cli(["gate-policy", "get", "nowhere"])).code).toBe(4);
  }, 120_000);

  it("evidence get: writes every file of the pack, each matching the digest in manifest.json; exit 4 for an unknown pack", async () => {
    await deployedEnv(t, "gates", "ev", sets[0]!);
    await startRollout(t, "gates", "ev", { candidate: sets[1], percent: 10 });
    await cli(["observe", "ev", "stable", "--metric", "quality.success_rate=0.95", "--window", "5m", "--trace-id", "trace-stable-1"]);
    const written = await t.request("POST", envPath("gates", "ev", "/rollout/evidence"));
    const { id } = (await written.json()) as { id: string };
    const out = path.join(dir, "evidence", id);
    const r = await cli(["evidence", "get", id, "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Wrote evidence pack ${id} to ${out.replaceAll("/", "\\/")}: 10 files, each matching its sha256\\n`));
    const names = (await readdir(out)).sort();
    expect(names).toEqual(["audit.json", "candidate.json", "decision.json", "diff.json", "history.json", "manifest.json", "observations.json", "rollout.json", "stable.json", "trace-ids.json"]);
    const manifest = JSON.parse(await readFile(path.join(out, "manifest.json"), "utf8")) as { files: { name: string; digest: string; size: number }[] };
    for (const f of manifest.files) {
      const bytes = await readFile(path.join(out, f.name));
      expect([f.name, sha256(bytes), bytes.byteLength]).toEqual([f.name, f.digest, f.size]);
    }
    const pack = (await (await t.request("GET", `/v1/projects/gates/evidence/${id}`)).json()) as { manifest_digest: string };
    expect(sha256(await readFile(path.join(out, "manifest.json")))).toBe(pack.manifest_digest);
    expect(JSON.parse(await readFile(path.join(out, "trace-ids.json"), "utf8"))).toEqual({ stable: ["trace-stable-1"], candidate: [] });

    // Again into the same directory: the files are replaced, nothing else is left behind.
    const again = json<{ files: { name: string }[] }>(await cli(["evidence", "get", id, "--out", out, "--json"]));
    expect(again.files).toHaveLength(10);
    expect((await readdir(out)).sort()).toEqual(names);

    const missing = await cli(["evidence", "get", "ro_000000000000000000000000", "--out", path.join(dir, "none")]);
    expect(missing.code).toBe(4);
    await expect(readdir(path.join(dir, "none"))).rejects.toThrow();
  }, 120_000);

  it("evidence get: a file that does not match its digest is named, exit 1, and nothing is written", async () => {
    const rollout = (await (await t.request("GET", envPath("gates", "ev", "/rollout"))).json()) as { evidence: string[] };
    const id = rollout.evidence[0]!;
    const changed = await tamperingProxy(t.url, (pack) => {
      const contents = pack.contents as Record<string, unknown>;
      (contents["observations.json"] as Array<{ metrics: Record<string, number> }>)[0]!.metrics["quality.success_rate"] = 0.99;
    });
    const manifestChanged = await tamperingProxy(t.url, (pack) => {
      (pack.manifest as { created_by: string }).created_by = "someone else";
    });
    try {
      const out = path.join(dir, "tampered");
      const r = await cli(["evidence", "get", id, "--out", out], { env: { PINSET_URL: changed.url } });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^pinset: evidence pack ${id}: a file does not match the recorded digest: observations\\.json \\(expected sha256:[0-9a-f]{64}, got sha256:[0-9a-f]{64}\\); nothing was written\\n$`));
      await expect(readdir(out)).rejects.toThrow();
      const m = await cli(["evidence", "get", id, "--out", out], { env: { PINSET_URL: manifestChanged.url } });
      expect(m.code).toBe(1);
      expect(m.stderr).toMatch(/a file does not match the recorded digest: manifest\.json \(expected/);
      await expect(readdir(out)).rejects.toThrow();
    } finally {
      await Promise.all([changed.close(), manifestChanged.close()]);
    }
  }, 120_000);

  it("rollout status --watch: redraws on each step and decision change, exits 0 when promoted", async () => {
    await deployedEnv(t, "gates", "live", sets[0]!);
    await startRollout(t, "gates", "live", { candidate: sets[1], percent: 5 });
    const watch = startCli(["rollout", "status", "live", "--watch", "--interval", "1"], { env: { PINSET_URL: t.url, PINSET_TOKEN: ADMIN_TOKEN, PINSET_PROJECT: "gates" } });
    try {
      await watch.waitFor(/on live: running, 5%\n[\s\S]*decision: yellow → hold/);
      // A step is a revision: it comes through the watch stream.
      expect((await t.request("POST", envPath("gates", "live", "/rollout/advance"), { body: { percent: 25, force: true, reason: "on-call" } })).status).toBe(200);
      await watch.waitFor(/on live: running, 25%/);
      // Observations are no revisions: the decision is re-read every --interval.
      await cli(["observe", "live", "stable", "--metric", "quality.success_rate=0.95", "--window", "5m"]);
      await cli(["observe", "live", "candidate", "--metric", "quality.success_rate=0.97", "--window", "5m"]);
      await watch.waitFor(/running, 25%\n[\s\S]*decision: green → advance/);
      expect((await t.request("POST", envPath("gates", "live", "/rollout/advance"), { body: { percent: 100 } })).status).toBe(200);
      const done = await watch.exited;
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout).toMatch(/on live: promoted, 100%\n[\s\S]*ended /);
      expect(done.stderr).toBe("");
    } finally {
      watch.signal("SIGKILL");
    }
  }, 120_000);

  it("rollout status --watch: rides out a registry that goes away, and shows the step made meanwhile", async () => {
    await deployedEnv(t, "gates", "flaky", sets[0]!);
    await startRollout(t, "gates", "flaky", { candidate: sets[1], percent: 5 });
    let proxy = await startTcpProxy(t.url);
    const port = proxy.port;
    const watch = startCli(["rollout", "status", "flaky", "--watch", "--interval", "1"], { env: { PINSET_URL: proxy.url, PINSET_TOKEN: ADMIN_TOKEN, PINSET_PROJECT: "gates" } });
    try {
      await watch.waitFor(/on flaky: running, 5%/);
      await proxy.close();
      expect((await t.request("POST", envPath("gates", "flaky", "/rollout/advance"), { body: { percent: 50, force: true, reason: "during the outage" } })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1500));
      proxy = await startTcpProxy(t.url, port);
      await watch.waitFor(/on flaky: running, 50%/);
      expect(watch.stderr()).toMatch(/pinset: (the watch stream broke|cannot read the rollout right now)/);
      expect((await t.request("POST", envPath("gates", "flaky", "/rollout/advance"), { body: { percent: 100, force: true } })).status).toBe(200);
      const done = await watch.exited;
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout).toMatch(/on flaky: promoted, 100%/);
    } finally {
      watch.signal("SIGKILL");
      await proxy.close();
    }
  }, 120_000);

  it("rollout status --watch: an aborted rollout ends it with exit 1; --json prints one line per change; Ctrl-C exits 0", async () => {
    await deployedEnv(t, "gates", "abort", sets[0]!);
    await startRollout(t, "gates", "abort", { candidate: sets[2], percent: 5 });
    const env = { PINSET_URL: t.url, PINSET_TOKEN: ADMIN_TOKEN, PINSET_PROJECT: "gates" };
    const watch = startCli(["rollout", "status", "abort", "--watch", "--json"], { env });
    const interrupted = startCli(["rollout", "status", "abort", "--watch"], { env });
    try {
      await watch.waitFor(/"state":"running"/);
      await interrupted.waitFor(/running, 5%/);
      interrupted.signal("SIGINT");
      const stopped = await interrupted.exited;
      expect([stopped.code, stopped.stderr]).toEqual([0, ""]);

      expect((await t.request("POST", envPath("gates", "abort", "/rollout/pause"), { body: {} })).status).toBe(200);
      await watch.waitFor(/"state":"paused"/);
      expect((await t.request("POST", envPath("gates", "abort", "/rollout/abort"), { body: { reason: "latency" } })).status).toBe(200);
      const done = await watch.exited;
      expect(done.code).toBe(1);
      expect(done.stderr).toMatch(new RegExp(`^pinset: rollout ro_[0-9a-f]{24} was aborted: abort serves ${sets[0]} to everyone\\n$`));
      const lines = done.stdout.trim().split("\n").map((l) => JSON.parse(l) as { rollout: { state: string }; decision: unknown });
      expect(lines.map((l) => l.rollout.state)).toEqual(["running", "paused", "aborted"]);
      expect(lines.at(-1)!.decision).toBeNull();
    } finally {
      watch.signal("SIGKILL");
      interrupted.signal("SIGKILL");
    }
    // Nothing to watch: exit 4, as for rollout status.
    await deployedEnv(t, "gates", "quiet", sets[0]!);
    const none = await cli(["rollout", "status", "quiet", "--watch"]);
    expect(none.code).toBe(4);
  }, 120_000);
});
