import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("loadConfig", () => {
  it("defaults to the embedded database and local blobs on 127.0.0.1:8080", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8080, host: "127.0.0.1", logLevel: "info", rateLimit: { rps: 500, burst: 1000 } });
    expect(c.databaseUrl).toBeUndefined();
    expect(c.s3).toBeUndefined();
    expect(c.dataDir.endsWith(".pinset")).toBe(true);
    expect(c.limits).toEqual({ maxJsonBytes: 10 * 1024 * 1024, maxBlobBytes: 5 * 1024 ** 3 });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("reads Postgres, S3 and limits", () => {
    const c = loadConfig({
      DATABASE_URL: "postgres://u@db/pinset",
      PINSET_S3_BUCKET: "my-bucket",
      PINSET_S3_ENDPOINT: "http://minio:9000",
      PINSET_S3_FORCE_PATH_STYLE: "true",
      PINSET_S3_CHECKSUMS: "when_required",
      PINSET_MAX_JSON_BYTES: "1024",
      PINSET_RATE_LIMIT_RPS: "0",
      PORT: "9000",
    });
    expect(c.databaseUrl).toBe("postgres://u@db/pinset");
    expect(c.s3).toMatchObject({ bucket: "my-bucket", endpoint: "http://minio:9000", forcePathStyle: true, checksums: "when_required", region: "us-east-1" });
    expect(c.limits.maxJsonBytes).toBe(1024);
    expect(c.rateLimit.rps).toBe(0);
    expect(c.port).toBe(9000);
  });

  it("caps watch streams and keeps connections 65 s by default, and reads the HTTP limits", () => {
    const c = loadConfig({});
    expect(c.watchLimits).toEqual({ perToken: 1000, perAddress: 200 });
    expect(c.http).toEqual({ keepAliveTimeoutMs: 65_000, bodyIdleTimeoutMs: 60_000, jsonBodyTimeoutMs: 300_000 });
    const tuned = loadConfig({
      PINSET_WATCH_MAX_PER_TOKEN: "0",
      PINSET_WATCH_MAX_PER_ADDRESS: "5000",
      PINSET_KEEPALIVE_TIMEOUT_MS: "120000",
      PINSET_BODY_IDLE_TIMEOUT_MS: "30000",
      PINSET_JSON_BODY_TIMEOUT_MS: "60000",
    });
    expect(tuned.watchLimits).toEqual({ perToken: 0, perAddress: 5000 });
    expect(tuned.http).toEqual({ keepAliveTimeoutMs: 120_000, bodyIdleTimeoutMs: 30_000, jsonBodyTimeoutMs: 60_000 });
    expect(() => loadConfig({ PINSET_WATCH_MAX_PER_TOKEN: "-1" })).toThrow(/PINSET_WATCH_MAX_PER_TOKEN/);
    expect(() => loadConfig({ PINSET_KEEPALIVE_TIMEOUT_MS: "0", PINSET_BODY_IDLE_TIMEOUT_MS: "10" })).toThrow(/PINSET_KEEPALIVE_TIMEOUT_MS[\s\S]*PINSET_BODY_IDLE_TIMEOUT_MS/);
  });

  it("treats empty variables as unset", () => {
    expect(loadConfig({ DATABASE_URL: "", PORT: "" }).databaseUrl).toBeUndefined();
  });

  it("lists every problem at once", () => {
    let error: unknown;
    try {
      loadConfig({ PORT: "eighty", DATABASE_URL: "mysql://x", PINSET_S3_BUCKET: "A", LOG_LEVEL: "loud", PINSET_ADMIN_TOKEN: "short" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join("\n");
    for (const name of ["PORT", "DATABASE_URL", "PINSET_S3_BUCKET", "LOG_LEVEL", "PINSET_ADMIN_TOKEN"]) expect(problems).toContain(name);
  });

  it("reads the database time budgets, stale fallback, prepared statements and readiness time-out, with defaults", () => {
    expect(loadConfig({}).database).toEqual({ readMs: 1000, writeMs: 5000, acquireMs: 5000, staleAfterMs: 500, preparedStatements: true });
    expect(loadConfig({}).readyzTimeoutMs).toBe(500);
    const c = loadConfig({
      PINSET_DB_READ_TIMEOUT_MS: "800",
      PINSET_DB_WRITE_TIMEOUT_MS: "3000",
      PINSET_DB_ACQUIRE_TIMEOUT_MS: "2000",
      PINSET_STALE_AFTER_MS: "250",
      PINSET_READYZ_TIMEOUT_MS: "900",
      PINSET_DB_PREPARED_STATEMENTS: "false",
    });
    expect(c.database).toEqual({ readMs: 800, writeMs: 3000, acquireMs: 2000, staleAfterMs: 250, preparedStatements: false });
    expect(c.readyzTimeoutMs).toBe(900);
    let error: unknown;
    try {
      loadConfig({ PINSET_DB_READ_TIMEOUT_MS: "0", PINSET_DB_WRITE_TIMEOUT_MS: "5s", PINSET_STALE_AFTER_MS: "-1", PINSET_DB_PREPARED_STATEMENTS: "sometimes" });
    } catch (err) {
      error = err;
    }
    const problems = (error as ConfigError).problems.join("\n");
    for (const name of ["PINSET_DB_READ_TIMEOUT_MS", "PINSET_DB_WRITE_TIMEOUT_MS", "PINSET_STALE_AFTER_MS", "PINSET_DB_PREPARED_STATEMENTS"]) expect(problems).toContain(name);
  });

  it("refuses an S3 endpoint without a bucket", () => {
    expect(() => loadConfig({ PINSET_S3_ENDPOINT: "http://minio:9000" })).toThrow(/PINSET_S3_BUCKET/);
  });

  it("reads the schema limits, the schema workers and the webhook target policy, with safe defaults", () => {
    const d = loadConfig({});
    expect(d.schemas).toMatchObject({ maxBytes: 1024 * 1024, maxDepth: 64, maxProperties: 5_000, maxBranches: 1_000, timeoutMs: 5_000, maxQueue: 32 });
    expect(d.schemas.workers).toBeGreaterThanOrEqual(1);
    expect(d.webhooks).toEqual({ allowPrivate: false });
    const c = loadConfig({
      PINSET_SCHEMA_MAX_BYTES: "2048",
      PINSET_SCHEMA_MAX_DEPTH: "10",
      PINSET_SCHEMA_MAX_PROPERTIES: "0",
      PINSET_SCHEMA_MAX_BRANCHES: "7",
      PINSET_SCHEMA_TIMEOUT_MS: "250",
      PINSET_SCHEMA_WORKERS: "3",
      PINSET_SCHEMA_QUEUE: "0",
      PINSET_WEBHOOK_ALLOW_PRIVATE: "true",
    });
    expect(c.schemas).toEqual({ maxBytes: 2048, maxDepth: 10, maxProperties: 0, maxBranches: 7, timeoutMs: 250, workers: 3, maxQueue: 0 });
    expect(c.webhooks.allowPrivate).toBe(true);
    let error: unknown;
    try {
      loadConfig({ PINSET_SCHEMA_WORKERS: "0", PINSET_SCHEMA_TIMEOUT_MS: "0", PINSET_SCHEMA_MAX_DEPTH: "x", PINSET_WEBHOOK_ALLOW_PRIVATE: "maybe" });
    } catch (e) {
      error = e;
    }
    const message = (error as Error).message;
    for (const problem of [/PINSET_SCHEMA_WORKERS must be at least 1/, /PINSET_SCHEMA_TIMEOUT_MS must be at least 1/, /PINSET_SCHEMA_MAX_DEPTH must be a whole number/, /PINSET_WEBHOOK_ALLOW_PRIVATE:/]) {
      expect(message).toMatch(problem);
    }
  });

  it("reads the schedule loop's tick (PINSET_ANALYSIS_TICK_MS), 5 s by default, and refuses a bad one", () => {
    expect(loadConfig({}).analysisTickMs).toBe(5000);
    expect(loadConfig({ PINSET_ANALYSIS_TICK_MS: "250" }).analysisTickMs).toBe(250);
    for (const bad of ["0", "5", "1.5", "-1", "soon", "3600001"]) {
      expect(() => loadConfig({ PINSET_ANALYSIS_TICK_MS: bad }), bad).toThrow(/PINSET_ANALYSIS_TICK_MS/);
    }
  });
});
