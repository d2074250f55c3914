import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployedEnv, envPath, makeSets, observe } from "../support/rollouts.js";
import { SseClient } from "../support/sse-client.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";

/** The environment JSON, with the rollout's `updated_at` left out (a replay gives the step's instant). */
function comparable(json: Record<string, unknown>) {
  const rollout = json.rollout as Record<string, unknown> | null;
  if (!rollout) return json;
  const { updated_at: _updated, ...rest } = rollout;
  return { ...json, rollout: rest };
}

describe.each(backends())("watch replay across rollout steps on $name", (backend) => {
  let t: TestApp;
  afterAll(async () => t?.close());
  beforeAll(async () => {
    t = await startTestApp(backend);
    expect((await t.request("PUT", "/v1/projects/ro")).status).toBe(201);
  });

  it("rebuilds `rollout` and `frozen` of every missed revision as GET environment showed them", async () => {
    const [stable, candidate, next] = await makeSets(t, "ro", 3, "replayed");
    await deployedEnv(t, "ro", "prod", stable!);
    const snapshots: Array<Record<string, unknown>> = [];
    const step = async (method: string, suffix: string, body: unknown) => {
      const res = await t.request(method, envPath("ro", "prod", suffix), { body });
      expect(res.status, await res.clone().text()).toBeLessThan(300);
      snapshots.push((await (await t.request("GET", envPath("ro", "prod"))).json()) as Record<string, unknown>);
    };
    await step("PUT", "/rollout", { candidate, percent: 10, allow: ["alice"] });
    await step("POST", "/rollout/advance", { percent: 25, force: true, reason: "test" });
    await step("POST", "/rollout/pause", { reason: "look" });
    await step("POST", "/rollout/resume", {});
    await step("POST", "/rollout/abort", { reason: "no" });
    await step("PUT", "/rollout", { candidate: next, percent: 50 });
    await step("POST", "/rollout/advance", { percent: 100, force: true, reason: "ship" });
    // An automatic stop: the abort and the freeze are two revisions of one transaction.
    await step("PUT", "/rollout", { candidate: stable, percent: 5, auto: true });
    const stopped = await observe(t, "ro", "prod", stable!, { risk: { pii_leaks: 1 } });
    expect(stopped.status, await stopped.clone().text()).toBe(201);
    const frozen = (await (await t.request("GET", envPath("ro", "prod"))).json()) as Record<string, unknown>;
    expect(frozen).toMatchObject({ frozen: true, rollout: null, revision: 11 });
    await step("POST", "/unfreeze", {});
    expect(snapshots.map((s) => s.revision)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 12]);
    expect((snapshots[1]!.rollout as { percent: number }).percent).toBe(25);
    expect(snapshots[6]).toMatchObject({ active: next, rollout: null });
    expect(snapshots[8]).toMatchObject({ frozen: false });

    const client = await SseClient.connect(`${t.url}${envPath("ro", "prod", "/watch")}`, { headers: { "last-event-id": "1" } });
    try {
      const replayed = [];
      for (let i = 0; i < 11; i++) replayed.push(await client.next());
      expect(replayed.map((e) => e.id)).toEqual(["2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"]);
      const states = replayed.map((e) => comparable(JSON.parse(e.data) as Record<string, unknown>));
      expect(states.filter((s) => [2, 3, 4, 5, 6, 7, 8, 9, 12].includes(s.revision as number))).toEqual(snapshots.map(comparable));
      // Revision 10 aborted the auto rollout, 11 froze the environment.
      expect(states[8]).toMatchObject({ revision: 10, rollout: null, frozen: false });
      expect(states[9]).toEqual(comparable(frozen));
    } finally {
      client.close();
    }
  });
});
