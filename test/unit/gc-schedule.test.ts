import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { GcSchedule } from "../../src/gc/schedule.js";
import { GcRunningError, type GcService } from "../../src/gc/service.js";
import { createLogger } from "../../src/logger.js";
import { LogCapture } from "../support/test-app.js";

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.join("\n");
  }
  return "";
}

describe("PINSET_GC_INTERVAL and PINSET_GC_WEBHOOK_RETENTION_DAYS", () => {
  it("off by default; units s, m, h, d; 0 and off turn it off", () => {
    expect(loadConfig({}).gc).toEqual({ intervalMs: 0, webhookRetentionDays: 30 });
    expect(loadConfig({ PINSET_GC_INTERVAL: "6h" }).gc.intervalMs).toBe(6 * 3_600_000);
    expect(loadConfig({ PINSET_GC_INTERVAL: "90s" }).gc.intervalMs).toBe(90_000);
    expect(loadConfig({ PINSET_GC_INTERVAL: "1d" }).gc.intervalMs).toBe(86_400_000);
    expect(loadConfig({ PINSET_GC_INTERVAL: "off" }).gc.intervalMs).toBe(0);
    expect(loadConfig({ PINSET_GC_INTERVAL: "0" }).gc.intervalMs).toBe(0);
    expect(loadConfig({ PINSET_GC_WEBHOOK_RETENTION_DAYS: "7" }).gc.webhookRetentionDays).toBe(7);
  });

  it("lists every bad value", () => {
    expect(problemsOf({ PINSET_GC_INTERVAL: "6" })).toMatch(/PINSET_GC_INTERVAL must be off, 0, or a whole number with a unit/);
    expect(problemsOf({ PINSET_GC_INTERVAL: "10s" })).toMatch(/PINSET_GC_INTERVAL must be at least 1m when on/);
    expect(problemsOf({ PINSET_GC_INTERVAL: "-1h", PINSET_GC_WEBHOOK_RETENTION_DAYS: "0" })).toMatch(/PINSET_GC_INTERVAL[\s\S]*PINSET_GC_WEBHOOK_RETENTION_DAYS must be at least 1/);
  });
});

describe("GcSchedule", () => {
  const fakeGc = (outcome: () => Promise<unknown>) => {
    const calls: unknown[] = [];
    return { calls, gc: { run: async (input: unknown) => (calls.push(input), outcome()) } as unknown as Pick<GcService, "run"> };
  };

  it("does nothing when the interval is 0", () => {
    const { gc, calls } = fakeGc(async () => ({}));
    const schedule = new GcSchedule(gc, { intervalMs: 0, logger: createLogger({ level: "silent" }) });
    schedule.start();
    expect(calls).toEqual([]);
  });

  it("a tick runs a real, scheduled collection; one running elsewhere is skipped quietly, a failure is logged and never thrown", async () => {
    const logs = new LogCapture();
    let outcome: () => Promise<unknown> = async () => ({});
    const { gc, calls } = fakeGc(() => outcome());
    const schedule = new GcSchedule(gc, { intervalMs: 60_000, logger: createLogger({ level: "info", destination: logs }) });
    await schedule.tick();
    expect(calls).toEqual([{ dryRun: false, trigger: "schedule", actor: "schedule" }]);
    outcome = async () => Promise.reject(new GcRunningError());
    await schedule.tick();
    expect(logs.text).toContain("scheduled garbage collection skipped: another is running");
    outcome = async () => Promise.reject(new Error("store down"));
    await schedule.tick();
    expect(logs.text).toMatch(/store down[\s\S]*scheduled garbage collection failed/);
    await schedule.stop();
  });

  it("ticks do not overlap: a tick while one runs joins it", async () => {
    let release!: () => void;
    const { gc, calls } = fakeGc(() => new Promise<void>((r) => (release = r)));
    const schedule = new GcSchedule(gc, { intervalMs: 60_000, logger: createLogger({ level: "silent" }) });
    const first = schedule.tick();
    const second = schedule.tick();
    expect(calls).toHaveLength(1);
    release();
    await Promise.all([first, second]);
  });
});
