/**
 * Evidence packs: written on demand and when a rollout is promoted or aborted, under
 * reports/YYYY-MM-DD/<pack id>/ in the blob store, every file's digest in the manifest, never
 * overwritten (a second pack gets a new id), served by GET …/evidence/{id} with each file
 * checked, invisible to other projects and to tokens of other environments.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployedEnv, envPath, expectProblem, makeSets, observe, startRollout, type RolloutJson } from "../support/rollouts.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";
import { createToken } from "../support/tokens.js";

const P = "evidence";

interface Written {
  id: string;
  rollout_id: string;
  trigger: string;
  location: string;
  files: string[];
  created_at: string;
}
interface Pack extends Written {
  environment: string;
  manifest: { id: string; rollout: string; trigger: string; location: string; files: Array<{ name: string; digest: string; size: number }> };
  contents: Record<string, unknown>;
}

const FILES = ["rollout.json", "stable.json", "candidate.json", "diff.json", "observations.json", "decision.json", "history.json", "audit.json", "trace-ids.json", "manifest.json"];
const today = () => new Date().toISOString().slice(0, 10);

describe.each(backends())("evidence packs on $name", (backend) => {
  let t: TestApp;
  let sets: string[];

  beforeAll(async () => {
    t = await startTestApp(backend);
    for (const p of [P, "other"]) expect((await t.request("PUT", `/v1/projects/${p}`)).status).toBe(201);
    sets = await makeSets(t, P, 3);
  });
  afterAll(async () => t?.close());

  async function readBlob(key: string): Promise<Buffer> {
    const stream = await t.blobStore.get(key);
    expect(stream, key).toBeDefined();
    const chunks: Buffer[] = [];
    for await (const chunk of stream!) chunks.push(Buffer.from(chunk as Uint8Array));
    return Buffer.concat(chunks);
  }
  const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

  async function getPack(id: string, token?: string): Promise<Response> {
    return t.request("GET", `/v1/projects/${P}/evidence/${id}`, token ? { token } : {});
  }

  /** Every file of the pack read straight from the blob store matches the manifest, and the manifest its stored digest. */
  async function expectIntact(pack: Pack): Promise<Map<string, Buffer>> {
    const bytes = new Map<string, Buffer>();
    for (const name of pack.files) bytes.set(name, await readBlob(`${pack.location}${name}`));
    expect(JSON.parse(bytes.get("manifest.json")!.toString("utf8"))).toEqual(pack.manifest);
    expect(pack.manifest.files.map((f) => f.name)).toEqual(FILES.slice(0, -1));
    for (const file of pack.manifest.files) {
      const b = bytes.get(file.name)!;
      expect(sha256(b), file.name).toBe(file.digest);
      expect(b.byteLength, file.name).toBe(file.size);
      expect(JSON.parse(b.toString("utf8")), file.name).toEqual(pack.contents[file.name]);
    }
    return bytes;
  }

  it("writes a complete pack on demand, and a second one under a new id without touching the first", async () => {
    await deployedEnv(t, P, "manual", sets[0]!);
    const rollout = await startRollout(t, P, "manual", { candidate: sets[1], percent: 5, allow: ["qa"] });
    expect((await observe(t, P, "manual", sets[0]!, { "latency.p95_ms": 1000 }, { sample_trace_ids: ["base-1", "base-2"] })).status).toBe(201);
    expect((await observe(t, P, "manual", sets[1]!, { "latency.p95_ms": 1300 }, { sample_trace_ids: ["cand-1"] })).status).toBe(201);
    await t.request("POST", envPath(P, "manual", "/rollout/advance"), { body: { force: true, reason: "override for the test" } });

    const res = await t.request("POST", envPath(P, "manual", "/rollout/evidence"), { headers: { "x-trace-id": "evidence-trace-1" } });
    expect(res.status).toBe(201);
    const written = (await res.json()) as Written;
    expect(written).toEqual({ id: rollout.id, rollout_id: rollout.id, trigger: "manual", location: `reports/${today()}/${rollout.id}/`, files: FILES, created_at: expect.any(String) });

    const pack = (await (await getPack(written.id)).json()) as Pack;
    expect(pack).toMatchObject({ ...written, environment: "manual", manifest: { id: rollout.id, rollout: rollout.id, trigger: "manual", location: written.location } });
    const first = await expectIntact(pack);
    const c = pack.contents;
    expect(c["rollout.json"]).toMatchObject({ id: rollout.id, stable: sets[0], candidate: sets[1], percent: 25, allow: ["qa"], state: "running" });
    expect(c["stable.json"]).toMatchObject({ id: sets[0], components: { cfg: expect.objectContaining({ kind: "config" }) } });
    expect(c["candidate.json"]).toMatchObject({ id: sets[1] });
    expect(c["diff.json"]).toMatchObject({ from: sets[0], to: sets[1], components: [expect.objectContaining({ slot: "cfg", change: "changed" })] });
    expect((c["observations.json"] as Array<{ side: string }>).map((o) => o.side)).toEqual(["stable", "candidate"]);
    expect(c["decision.json"]).toMatchObject({
      action: "rollback",
      signal: "red",
      reasons: [expect.objectContaining({ metric: "latency.p95_ms", verdict: "rollback", baseline: 1000, candidate: 1300 })],
      policy: expect.objectContaining({ steps: [1, 5, 25, 50, 100] }),
      candidate: { version_set: sets[1], metrics: { "latency.p95_ms": 1300 }, observations: [expect.any(String)] },
    });
    expect((c["history.json"] as Array<{ action: string; detail: { forced?: boolean } }>).map((h) => h.action)).toEqual(["rollout_start", "advance"]);
    expect((c["history.json"] as Array<{ detail: { forced?: boolean } }>)[1]!.detail.forced).toBe(true);
    expect((c["audit.json"] as Array<{ action: string }>).map((a) => a.action)).toEqual(["rollout.start", "observation.record", "observation.record", "rollout.advance"]);
    expect(c["trace-ids.json"]).toEqual({ stable: ["base-1", "base-2"], candidate: ["cand-1"] });

    const second = (await (await t.request("POST", envPath(P, "manual", "/rollout/evidence"))).json()) as Written;
    expect(second.id).toBe(`${rollout.id}-2`);
    expect(second.location).toBe(`reports/${today()}/${rollout.id}-2/`);
    for (const [name, bytes] of first) expect((await readBlob(`${written.location}${name}`)).equals(bytes), name).toBe(true);
    expect((await (await t.request("GET", envPath(P, "manual", "/rollout"))).json()).evidence).toEqual([rollout.id, `${rollout.id}-2`]);
    const audit = await (await t.request("GET", `/v1/projects/${P}/audit?action=evidence.write`)).json();
    expect(audit.items.map((a: { target: string }) => a.target)).toEqual([`evidence/${rollout.id}-2`, `evidence/${rollout.id}`]);
  });

  it("writes a pack automatically when a rollout is promoted, with the promote in its history", async () => {
    await deployedEnv(t, P, "promote", sets[0]!);
    const rollout = await startRollout(t, P, "promote", { candidate: sets[1], percent: 50 });
    await observe(t, P, "promote", sets[0]!, { "quality.success_rate": 0.9 });
    await observe(t, P, "promote", sets[1]!, { "quality.success_rate": 0.93 });
    const promoted = (await (await t.request("POST", envPath(P, "promote", "/rollout/advance"))).json()) as RolloutJson;
    expect(promoted).toMatchObject({ state: "promoted", evidence: [rollout.id] });
    expect((await (await t.request("GET", envPath(P, "promote"))).json()).active).toBe(sets[1]);
    const pack = (await (await getPack(rollout.id)).json()) as Pack;
    expect(pack).toMatchObject({ trigger: "promoted", environment: "promote" });
    await expectIntact(pack);
    expect(pack.contents["rollout.json"]).toMatchObject({ state: "promoted", percent: 100 });
    expect((pack.contents["history.json"] as Array<{ action: string; version_set: string }>).at(-1)).toMatchObject({ action: "promote", version_set: sets[1] });
    expect(pack.contents["decision.json"]).toMatchObject({ action: "advance", signal: "green" });
  });

  it("keeps the statistical judgment in decision.json: method, interval, confidence, samples and summary of the last step's pooled samples", async () => {
    await deployedEnv(t, P, "stats", sets[0]!);
    const rollout = await startRollout(t, P, "stats", { candidate: sets[1], percent: 50 });
    for (const set of [sets[0]!, sets[1]!]) {
      const res = await observe(t, P, "stats", set, { "quality.success_rate": { count: 18_000, trials: 20_000 } }, { requests: 20_000 });
      expect(res.status).toBe(201);
    }
    expect((await (await t.request("POST", envPath(P, "stats", "/rollout/advance"))).json()).state).toBe("promoted");
    const pack = (await (await getPack(rollout.id)).json()) as Pack;
    await expectIntact(pack);
    const decision = pack.contents["decision.json"] as { reasons: Array<Record<string, unknown>>; step: Record<string, unknown>; baseline: Record<string, unknown> };
    expect(decision).toMatchObject({ action: "advance", signal: "green", schedule: null });
    expect(decision.reasons[0]).toMatchObject({
      metric: "quality.success_rate",
      method: "sequential",
      verdict: "pass",
      confidence: 0.95,
      interval: { low: expect.any(Number), high: expect.any(Number) },
      samples: { baseline: 20_000, candidate: 20_000 },
      summary: expect.stringMatching(/^success rate: candidate 90 % vs baseline 90 % \(n = 20 000 \/ 20 000\), difference 0 pt, 95 % interval .*: pass$/),
    });
    // The promote does not start a new step: the pack judges the samples of the last one.
    expect(decision.step).toMatchObject({ samples: { baseline: 20_000, candidate: 20_000 } });
    expect(decision.baseline).toMatchObject({ version_set: sets[0], metrics: { "quality.success_rate": { count: 18_000, trials: 20_000 } }, requests: 20_000, notes: {} });
  });

  it("writes a pack automatically when a rollout is aborted, by hand or by an auto stop", async () => {
    await deployedEnv(t, P, "abort", sets[0]!);
    const manual = await startRollout(t, P, "abort", { candidate: sets[1], percent: 1 });
    const aborted = (await (await t.request("POST", envPath(P, "abort", "/rollout/abort"), { body: { reason: "wrong candidate" } })).json()) as RolloutJson;
    expect(aborted.evidence).toEqual([manual.id]);
    const pack = (await (await getPack(manual.id)).json()) as Pack;
    expect(pack.trigger).toBe("aborted");
    await expectIntact(pack);
    expect((pack.contents["history.json"] as Array<{ action: string; reason: string }>).at(-1)).toMatchObject({ action: "abort", reason: "wrong candidate" });

    const auto = await startRollout(t, P, "abort", { candidate: sets[2], percent: 1, auto: true });
    await observe(t, P, "abort", sets[0]!, { "risk.pii_leaks": 0 });
    const stop = await (await observe(t, P, "abort", sets[2]!, { "risk.pii_leaks": 1 }, { sample_trace_ids: ["leak-trace"] })).json();
    expect(stop.rollout).toMatchObject({ state: "aborted", evidence: [auto.id] });
    const stopped = (await (await getPack(auto.id)).json()) as Pack;
    await expectIntact(stopped);
    expect((stopped.contents["history.json"] as Array<{ action: string }>).map((h) => h.action)).toEqual(["rollout_start", "abort", "freeze"]);
    expect((stopped.contents["audit.json"] as Array<{ action: string }>).map((a) => a.action)).toEqual([
      "rollout.start", "observation.record", "observation.record", "rollout.abort", "environment.freeze", "incident.open",
    ]);
    expect(stopped.contents["trace-ids.json"]).toEqual({ stable: [], candidate: ["leak-trace"] });
    // The stop opened an incident, and the pack names it.
    expect((stopped.manifest as { incident?: unknown }).incident).toMatch(/^inc_[0-9a-f]{24}$/);
    expect(stopped.contents["decision.json"]).toMatchObject({ action: "stop", signal: "black" });
  });

  it("hides packs from other projects and from tokens limited to other environments; 404 for unknown ids", async () => {
    await deployedEnv(t, P, "private", sets[0]!);
    const rollout = await startRollout(t, P, "private", { candidate: sets[1], percent: 1 });
    const { id } = (await (await t.request("POST", envPath(P, "private", "/rollout/evidence"))).json()) as Written;
    await expectProblem(await t.request("GET", `/v1/projects/other/evidence/${id}`), 404, "not_found");
    const otherTeam = await createToken(t, { scopes: ["read"], projects: ["other"] });
    await expectProblem(await getPack(id, otherTeam.token), 404, "not_found");
    const stagingOnly = await createToken(t, { scopes: ["read"], projects: [P], environments: ["staging"] });
    await expectProblem(await getPack(id, stagingOnly.token), 404, "not_found");
    const reader = await createToken(t, { scopes: ["read"], projects: [P] });
    expect((await getPack(id, reader.token)).status).toBe(200);
    await expectProblem(await t.request("POST", envPath(P, "private", "/rollout/evidence"), { token: reader.token }), 403, "forbidden");
    await expectProblem(await getPack(`${rollout.id}-9`), 404, "not_found");
    await expectProblem(await getPack("..%2Fescape"), 400, "validation_failed");
    await expectProblem(await t.request("POST", envPath(P, "nowhere", "/rollout/evidence")), 404, "not_found");
  });

  it("refuses to serve a pack whose stored bytes no longer match the manifest", async () => {
    await deployedEnv(t, P, "tamper", sets[0]!);
    await startRollout(t, P, "tamper", { candidate: sets[1], percent: 1 });
    const written = (await (await t.request("POST", envPath(P, "tamper", "/rollout/evidence"))).json()) as Written;
    await t.blobStore.put(`${written.location}decision.json`, Readable.from([Buffer.from('{"action":"advance"}\n')]));
    const res = await getPack(written.id);
    expect(res.status).toBe(500);
    expect((await res.json()).detail).toContain("decision.json");
  });
});
