import { describe, expect, it } from "vitest";
import { rollbackTarget, type HistoryStep } from "../../src/environments/rollback-target.js";

/** Replays actions oldest first into history rows, the way applyEnvironmentChange writes them. */
function replay(actions: Array<["deploy" | "rollback" | "pause", string | null]>): { current: string | null; newestFirst: HistoryStep[] } {
  let current: string | null = null;
  const rows: HistoryStep[] = [];
  for (const [action, set] of actions) {
    const next: string | null = action === "pause" ? current : set;
    rows.push({ action, version_set: next, previous: current });
    current = next;
  }
  return { current, newestFirst: rows.reverse() };
}

/** Applies rollbacks without `to` the way the service does, returning the sets visited. */
function rollBackRepeatedly(history: ReturnType<typeof replay>, times: number): Array<string | undefined> {
  let { current, newestFirst } = history;
  const visited: Array<string | undefined> = [];
  for (let i = 0; i < times; i++) {
    const target = rollbackTarget(current, newestFirst);
    visited.push(target);
    if (target === undefined) break;
    newestFirst = [{ action: "rollback", version_set: target, previous: current }, ...newestFirst];
    current = target;
  }
  return visited;
}

describe("rollback target", () => {
  it("has none before anything was deployed, or after a single deploy", () => {
    expect(rollbackTarget(null, [])).toBeUndefined();
    const once = replay([["deploy", "a"]]);
    expect(rollbackTarget(once.current, once.newestFirst)).toBeUndefined();
  });

  it("walks back A ← B ← C one step per rollback instead of ping-ponging", () => {
    const h = replay([["deploy", "a"], ["deploy", "b"], ["deploy", "c"]]);
    expect(rollBackRepeatedly(h, 4)).toEqual(["b", "a", undefined]);
  });

  it("skips redeploys of the active set and non-pointer steps", () => {
    const h = replay([["deploy", "a"], ["deploy", "b"], ["deploy", "b"], ["pause", null], ["deploy", "b"]]);
    expect(rollbackTarget(h.current, h.newestFirst)).toBe("a");
  });

  it("goes to the set active before the current one, even when that set appears earlier too", () => {
    const h = replay([["deploy", "a"], ["deploy", "b"], ["deploy", "a"]]);
    expect(rollbackTarget(h.current, h.newestFirst)).toBe("b");
  });

  it("after a rollback and a new deploy, returns to the set the rollback chose, skipping the rolled-back one", () => {
    const h = replay([["deploy", "a"], ["deploy", "b"], ["deploy", "c"], ["rollback", "b"], ["deploy", "d"]]);
    expect(rollBackRepeatedly(h, 3)).toEqual(["b", "a", undefined]);
  });

  it("lets a set that was rolled back become a target again once it is redeployed", () => {
    const h = replay([["deploy", "a"], ["deploy", "b"], ["rollback", "a"], ["deploy", "b"], ["deploy", "c"]]);
    expect(rollbackTarget(h.current, h.newestFirst)).toBe("b");
  });

  it("treats rollback with an explicit `to` as leaving the current set", () => {
    const h = replay([["deploy", "a"], ["deploy", "b"], ["deploy", "c"], ["rollback", "a"]]);
    // c was rolled back away from; b was not, so it is the next step back.
    expect(rollBackRepeatedly(h, 3)).toEqual(["b", undefined]);
  });

  it("does not mark the current set when a rollback `to` pointed at the set already active", () => {
    const h = replay([["deploy", "a"], ["deploy", "b"], ["rollback", "b"], ["deploy", "c"]]);
    expect(rollbackTarget(h.current, h.newestFirst)).toBe("b");
  });
});
