import { describe, expect, it } from "vitest";
import { notificationPayload, type AppliedChange } from "../../src/environments/change.js";
import type { EnvironmentView } from "../../src/environments/present.js";

const applied: AppliedChange = { project: "p", environment: "prod", revision: 7, active: "vs_b", previous: "vs_a", action: "deploy" };
const state = (rollout: object | null): EnvironmentView => ({
  name: "prod",
  active: "vs_b",
  revision: 7,
  updated_at: "2026-01-01T00:00:00.000Z",
  protected: false,
  frozen: false,
  fallback: null,
  rollout,
  created_at: "2026-01-01T00:00:00.000Z",
});

describe("the environment change notification", () => {
  it("is the applied change alone when the state after it is not known", () => {
    expect(JSON.parse(notificationPayload(applied, undefined))).toEqual(applied);
  });

  it("carries the environment JSON after the change when it is known", () => {
    expect(JSON.parse(notificationPayload(applied, state(null)))).toEqual({ ...applied, state: state(null) });
  });

  it("leaves the state out rather than exceed what NOTIFY accepts (8000 bytes)", () => {
    const big = state({ note: "é".repeat(4_000) });
    const payload = notificationPayload(applied, big);
    expect(JSON.parse(payload)).toEqual(applied);
    expect(Buffer.byteLength(payload)).toBeLessThan(8000);
    // Just under the limit in bytes (not characters) still carries it.
    const fits = state({ note: "x".repeat(7_400) });
    expect(JSON.parse(notificationPayload(applied, fits)).state).toEqual(fits);
  });
});
