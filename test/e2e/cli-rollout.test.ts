import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployedEnv, makeSets, observe } from "../support/rollouts.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";
import { cliFor, ensureCliBuilt, json } from "./cli-support.js";

/**
 * The release engineer's canary path through the real binary. The CLI is a client of the HTTP
 * contract, so one backend is enough here; the server's rollout behaviour on Postgres + S3 is
 * covered by the integration tests.
 */
describe.each(backends().slice(0, 1))("pinset rollout commands on $name", (backend) => {
  let t: TestApp;
  let cli: ReturnType<typeof cliFor>;
  let stable: string;
  let candidate: string;

  beforeAll(async () => {
    [t] = await Promise.all([startTestApp(backend), ensureCliBuilt()]);
    expect((await t.request("PUT", "/v1/projects/canary")).status).toBe(201);
    [stable, candidate] = (await makeSets(t, "canary", 2)) as [string, string];
    await deployedEnv(t, "canary", "production", stable);
    cli = cliFor(t, "canary");
  }, 180_000);
  afterAll(async () => t?.close());

  it("rollout start: a candidate at a percent plus an allowlist; a bad percent is a usage error", async () => {
    const bad = await cli(["rollout", "start", "production", candidate, "--percent", "150"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--percent expects a number in \(0, 100\]/);

    const started = await cli(["rollout", "start", "production", candidate, "--percent", "5", "--allow", "tenant-vip", "--reason", "new prompt"]);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toMatch(new RegExp(`^Started rollout ro_[0-9a-f]{24} of ${candidate} on production at 5% \\(\\+1 allowed\\)\\n$`));
    const vip = await cli(["resolve", "production", "--subject", "tenant-vip"]);
    expect(vip.stdout).toMatch(new RegExp(`^production → ${candidate} {2}\\(assignment: candidate\\)`));
    const twice = await cli(["rollout", "start", "production", candidate, "--percent", "5"]);
    expect(twice.code).toBe(3);
  });

  it("rollout status / decision: the rollout and a 'hold' without observations", async () => {
    const status = await cli(["rollout", "status", "production"]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^rollout ro_[0-9a-f]{24} on production: running, 5%\n/);
    expect(status.stdout).toContain(`  candidate  ${candidate}\n`);
    expect(status.stdout).toContain("  allow      tenant-vip\n");
    expect(status.stdout).toMatch(/\n {2}step {7}5% since \S+: bake 21600 s \(\d+ s left\), samples 0 \/ 0 of 500 per side\n/);
    expect(status.stdout).toMatch(/\n {2}next {7}hold: advice \(auto is off, a person acts\): baking: /);
    expect(status.stdout).toMatch(/decision: yellow → hold\nMETRIC\s+BASELINE\s+CANDIDATE\s+METHOD\s+INTERVAL\s+N \(B\/C\)\s+VERDICT\nobservations\s/);
    expect(json(await cli(["rollout", "status", "production", "--json"]))).toMatchObject({ state: "running", percent: 5, stable, candidate });
    expect(json(await cli(["rollout", "decision", "production", "--json"]))).toMatchObject({ signal: "yellow", action: "hold" });
  });

  it("rollout status: one line per metric with its interval and verdict, and each reason's sentence", async () => {
    const file = { quality: { success_rate: { count: 18_000, trials: 20_000 } }, cost: { tokens_per_request: { mean: 600, stddev: 100, count: 20_000 } } };
    // The stable side's p95 alone is no_data: the gate keeps holding (the next test needs a refusal).
    expect((await observe(t, "canary", "production", stable, { ...file, "latency.p95_ms": 900 })).status).toBe(201);
    expect((await observe(t, "canary", "production", candidate, { ...file, "risk.pii_leaks": 0 })).status).toBe(201);
    const status = await cli(["rollout", "status", "production"]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/\nquality\.success_rate\s+0\.9\s+0\.9\s+sequential\s+-\d\.\d \.\. \+\d\.\d pt\s+20000\/20000\s+pass\n/);
    expect(status.stdout).toMatch(/\ncost\.tokens_per_request\s+600\s+600\s+sequential\s+0\.\d\d \.\. 1\.\d\d\s+20000\/20000\s+pass\n/);
    expect(status.stdout).toMatch(/\nrisk\.pii_leaks\s+-\s+0\s+point\s+-\s+-\s+pass\n/);
    expect(status.stdout).toContain("  success rate: candidate 90 % vs baseline 90 % (n = 20 000 / 20 000), difference 0 pt, 95 % interval");
    expect(status.stdout).toMatch(/\n {2}step {7}5% since \S+: bake 21600 s \(\d+ s left\), samples 20000 \/ 20000 of 500 per side\n/);
  });

  it("rollout advance: refused by the gate (exit 3), allowed with --force; pause, resume", async () => {
    const blocked = await cli(["rollout", "advance", "production", "--percent", "25"]);
    expect(blocked.code).toBe(3);
    expect(blocked.stderr).toMatch(/\(gate_blocked, trace /);
    const forced = await cli(["rollout", "advance", "production", "--percent", "25", "--force", "--reason", "approved by on-call"]);
    expect(forced).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Advanced rollout ro_[0-9a-f]{24} to 25%\n$/) });
    expect((await cli(["rollout", "pause", "production", "--reason", "look at latency"])).stdout).toMatch(/^Paused rollout .* at 25%\n$/);
    expect(json(await cli(["rollout", "resume", "production", "--json"]))).toMatchObject({ state: "running", percent: 25 });
  });

  it("rollout evidence, then abort: everyone back on stable", async () => {
    const pack = await cli(["rollout", "evidence", "production"]);
    expect(pack.code, pack.stderr).toBe(0);
    expect(pack.stdout).toMatch(/^Wrote evidence pack ro_[0-9a-f]{24} to reports\/\d{4}-\d{2}-\d{2}\/ro_[0-9a-f]{24}\/\n/);
    expect(pack.stdout).toContain("  manifest.json");
    const aborted = await cli(["rollout", "abort", "production", "--reason", "latency"]);
    expect(aborted.stdout).toMatch(new RegExp(`^Aborted rollout ro_[0-9a-f]{24}: production serves ${stable} to everyone\n$`));
    expect(json(await cli(["resolve", "production", "--subject", "tenant-vip", "--json"]))).toMatchObject({ id: stable });
  });

  it("a 'stop' freezes the environment: deploy is locked (exit 3) until env unfreeze", async () => {
    expect((await cli(["rollout", "start", "production", candidate, "--percent", "10", "--auto"])).code).toBe(0);
    expect((await observe(t, "canary", "production", stable, { "quality.success_rate": 0.95 })).status).toBe(201);
    expect((await observe(t, "canary", "production", candidate, { "quality.success_rate": 0.95, "risk.injection_success": 1 })).status).toBe(201);
    expect(json(await cli(["env", "show", "production", "--json"]))).toMatchObject({ frozen: true });

    const locked = await cli(["deploy", "production", candidate]);
    expect(locked.code).toBe(3);
    expect(locked.stderr).toMatch(/\(locked, trace /);
    const unfrozen = await cli(["env", "unfreeze", "production", "--reason", "injection fixed"]);
    expect(unfrozen.code, unfrozen.stderr).toBe(0);
    expect(unfrozen.stdout).toMatch(/^Unfroze production: deploys and rollouts are accepted again \(revision \d+\)\n$/);
    const revision = Number(/revision (\d+)/.exec(unfrozen.stdout)![1]);
    // Different words when there was nothing to lift, and no new revision.
    const again = await cli(["env", "unfreeze", "production"]);
    expect(again).toMatchObject({ code: 0, stdout: `production was not frozen: nothing changed (revision ${revision})\n` });
    // The stop opened an incident: deploying anything but its stable set must name it.
    const refused = await cli(["deploy", "production", candidate]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/incident_open/);
    const incident = /(inc_[0-9a-f]+)/.exec(refused.stderr)![1]!;
    expect((await cli(["deploy", "production", candidate, "--acknowledge-incident", incident, "--reason", "fixed build"])).code).toBe(0);
    // On-call's own freeze, and its no-op.
    const froze = await cli(["env", "freeze", "production", "--reason", "hold everything"]);
    expect(froze.code, froze.stderr).toBe(0);
    expect(froze.stdout).toMatch(/^Froze production: deploys, rollbacks and new rollouts answer 423 until an admin unfreezes \(revision \d+\)\n$/);
    expect((await cli(["env", "freeze", "production"])).stdout).toMatch(/was already frozen: nothing changed/);
    expect((await cli(["rollback", "production"])).code).toBe(3);
    expect((await cli(["env", "unfreeze", "production"])).code).toBe(0);
  });
});
