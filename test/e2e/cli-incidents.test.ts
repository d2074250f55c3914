import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployedEnv, makeSets, observe, startRollout } from "../support/rollouts.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";
import { cliFor, ensureCliBuilt, json } from "./cli-support.js";

/** The on-call path through the real binary: runbook, degrade, incident ls/show/open/note/close. One backend (the CLI is an HTTP client). */
describe.each(backends().slice(0, 1))("pinset runbook, degrade and incident commands on $name", (backend) => {
  let t: TestApp;
  let cli: ReturnType<typeof cliFor>;
  let sets: string[];

  beforeAll(async () => {
    [t] = await Promise.all([startTestApp(backend), ensureCliBuilt()]);
    expect((await t.request("PUT", "/v1/projects/oncall")).status).toBe(201);
    sets = await makeSets(t, "oncall", 3);
    await deployedEnv(t, "oncall", "production", sets[0]!);
    expect((await t.request("PUT", "/v1/projects/oncall/environments/production", { body: { fallback: sets[2] } })).status).toBe(200);
    cli = cliFor(t, "oncall");
  }, 180_000);
  afterAll(async () => t?.close());

  it("a red gate opens an incident; runbook, ls and show tell it; close is refused (exit 3) until an evalset learned the trace", async () => {
    await startRollout(t, "oncall", "production", { candidate: sets[1], percent: 5, auto: true });
    await observe(t, "oncall", "production", sets[0]!, { "quality.success_rate": 0.95 });
    await observe(t, "oncall", "production", sets[1]!, { "quality.success_rate": 0.8 }, { sample_trace_ids: ["trace-red"] });

    const ls = await cli(["incident", "ls", "--env", "production"]);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(/^ID\s+ENV\s+STATE\s+SEV\s+OPENED\s+SUMMARY\ninc_[0-9a-f]{24}\s+production\s+mitigated\s+sev2\s/);
    const [incident] = json<{ items: Array<{ id: string }> }>(await cli(["incident", "ls", "--state", "mitigated", "--json"])).items;
    expect((await cli(["incident", "ls", "--state", "nope"])).code).toBe(2);

    const show = await cli(["incident", "show", incident!.id]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain(`incident ${incident!.id} on production: mitigated (sev2)`);
    expect(show.stdout).toMatch(/ {2}mitigated {2}\S+ \(abort at revision \d+\) {2}target \S+: met/);
    expect(show.stdout).toContain("  traces     trace-red");
    expect((await cli(["incident", "show", "inc_nope"])).code).toBe(2);
    expect((await cli(["incident", "show", "inc_000000000000000000000000"])).code).toBe(4);

    const book = await cli(["runbook", "production"]);
    expect(book.code, book.stderr).toBe(0);
    expect(book.stdout).toMatch(/^# Runbook: oncall \/ production\n/);
    expect(book.stdout).toContain(`**${incident!.id}** (sev2, mitigated)`);
    expect(book.stdout).toContain(`PINSET_PROJECT=oncall pinset degrade production --reason`);
    expect(book.stdout).toContain(`### Degrade (to \`${sets[2]}\`)`);

    expect((await cli(["incident", "note", incident!.id, "p95 normal again"])).code).toBe(0);
    expect((await cli(["incident", "close", incident!.id, "--regression-set", "evalset/regression@1"])).code).toBe(1);
    const published = await t.request("POST", "/v1/projects/oncall/artifacts/evalset/regression", {
      body: { content: { cases: [{ id: "other", input: 1, source_trace_id: "someone-else" }] } },
    });
    expect(published.status).toBe(201);
    const missing = await cli(["incident", "close", incident!.id, "--regression-set", "evalset/regression@1"]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/regression_set_required/);
    expect((await cli(["incident", "close", incident!.id])).code).toBe(2);
    await t.request("POST", "/v1/projects/oncall/artifacts/evalset/regression", {
      body: { content: { cases: [{ id: "other", input: 1, source_trace_id: "someone-else" }, { id: "red", input: 2, source_trace_id: "trace-red" }] } },
    });
    const closed = await cli(["incident", "close", incident!.id, "--regression-set", "evalset/regression@2", "--summary", "fixed"]);
    expect(closed.code, closed.stderr).toBe(0);
    expect(closed.stdout).toBe(`Closed incident ${incident!.id} with evalset/regression@2\n`);
  });

  it("degrade and incident open: degrade opens an incident, a second open is refused (exit 3)", async () => {
    const degraded = await cli(["degrade", "production", "--reason", "answers wrong"]);
    expect(degraded.code, degraded.stderr).toBe(0);
    expect(degraded.stdout).toMatch(new RegExp(`^Degraded production to ${sets[2]} \\(revision \\d+\\)\\nIncident inc_[0-9a-f]{24}\\n$`));
    const open = await cli(["incident", "open", "production", "--severity", "sev1", "--summary", "still wrong"]);
    expect(open.code).toBe(3);
    expect((await cli(["incident", "open", "production", "--severity", "sev9", "--summary", "x"])).code).toBe(2);
  });
});
