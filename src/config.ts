import path from "node:path";
import { z } from "zod";
import { DEFAULT_DATABASE_BUDGETS } from "./db/budgets.js";
import { DEFAULT_SCHEMA_SETTINGS, type SchemaSettings } from "./schemas/settings.js";

/**
 * The only module that reads the environment, called once from main.ts. Every problem is
 * collected and reported together so an operator fixes a bad deployment in one round.
 */

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Defaults of the HTTP limits (docs/security.md "Limits"); also what an app built without them uses. */
export const HTTP_DEFAULTS = Object.freeze({
  /** Open watch streams per token and per client address (0 = no cap). */
  watchPerToken: 1_000,
  watchPerAddress: 200,
  /** Above load balancers' 60 s idle time-out, so the balancer closes an idle connection first. */
  keepAliveTimeoutMs: 65_000,
  /** A request body that sends no byte for this long is cut (408). */
  bodyIdleTimeoutMs: 60_000,
  /** The whole JSON body must arrive within this (blob uploads have only the idle time-out). */
  jsonBodyTimeoutMs: 300_000,
});

const boolish = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");

const positiveInt = (name: string) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform((v) => Number(v))
    .refine((v) => Number.isSafeInteger(v), `${name} is too large`);

/** A time budget: at least 1 ms (a budget of 0 would refuse everything). */
const milliseconds = (name: string) => positiveInt(name).refine((v) => v >= 1, `${name} must be at least 1 (milliseconds)`);

/** Resolve, watch and a cached token wait this long for the database before answering from memory. */
export const DEFAULT_STALE_AFTER_MS = 500;
/** `/readyz` answers within this (load balancers probe with 1–5 s time-outs). */
export const DEFAULT_READYZ_TIMEOUT_MS = 500;
/** Each instance's schedule loop looks at running `auto` rollouts this often. */
export const DEFAULT_ANALYSIS_TICK_MS = 5_000;
const atLeastOne = (name: string) => positiveInt(name).refine((v) => v >= 1, `${name} must be at least 1`);

const DURATION_UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `0` or `off` (disabled), or a whole number with a unit: `90s`, `30m`, `6h`, `1d`; at least a minute. */
const interval = (name: string) =>
  z
    .string()
    .regex(/^(0|off|[1-9]\d{0,6}[smhd])$/, `${name} must be off, 0, or a whole number with a unit (s, m, h, d), e.g. 6h`)
    .transform((v) => (v === "0" || v === "off" ? 0 : Number(v.slice(0, -1)) * DURATION_UNITS[v.slice(-1)]!))
    .refine((v) => v === 0 || v >= 60_000, `${name} must be at least 1m when on`);

const envSchema = z.object({
  PORT: positiveInt("PORT")
    .refine((v) => v <= 65535, "PORT must be at most 65535")
    .default(8080),
  HOST: z.string().min(1).default("127.0.0.1"),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "DATABASE_URL must be a postgres:// or postgresql:// URL")
    .optional(),
  PINSET_DATA_DIR: z.string().min(1).default("./.pinset"),
  PINSET_S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "PINSET_S3_BUCKET must be a valid bucket name (3-63 chars)")
    .optional(),
  PINSET_S3_ENDPOINT: z.url("PINSET_S3_ENDPOINT must be a URL").optional(),
  PINSET_S3_REGION: z.string().min(1).default("us-east-1"),
  PINSET_S3_FORCE_PATH_STYLE: boolish.default(false),
  PINSET_S3_CHECKSUMS: z.enum(["when_required", "when_supported"]).optional(),
  PINSET_S3_PREFIX: z.string().default(""),
  PINSET_ADMIN_TOKEN: z.string().min(16, "PINSET_ADMIN_TOKEN must be at least 16 characters").optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  PINSET_MAX_JSON_BYTES: positiveInt("PINSET_MAX_JSON_BYTES").default(10 * MiB),
  PINSET_MAX_BLOB_BYTES: positiveInt("PINSET_MAX_BLOB_BYTES").default(5 * GiB),
  PINSET_RATE_LIMIT_RPS: positiveInt("PINSET_RATE_LIMIT_RPS").default(500),
  PINSET_RATE_LIMIT_BURST: positiveInt("PINSET_RATE_LIMIT_BURST").default(1000),
  PINSET_PUBLIC_URL: z.url("PINSET_PUBLIC_URL must be a URL").optional(),
  PINSET_DB_READ_TIMEOUT_MS: milliseconds("PINSET_DB_READ_TIMEOUT_MS").default(DEFAULT_DATABASE_BUDGETS.readMs),
  PINSET_DB_WRITE_TIMEOUT_MS: milliseconds("PINSET_DB_WRITE_TIMEOUT_MS").default(DEFAULT_DATABASE_BUDGETS.writeMs),
  PINSET_DB_ACQUIRE_TIMEOUT_MS: milliseconds("PINSET_DB_ACQUIRE_TIMEOUT_MS").default(DEFAULT_DATABASE_BUDGETS.acquireMs),
  PINSET_STALE_AFTER_MS: milliseconds("PINSET_STALE_AFTER_MS").default(DEFAULT_STALE_AFTER_MS),
  PINSET_DB_PREPARED_STATEMENTS: boolish.default(true),
  PINSET_READYZ_TIMEOUT_MS: milliseconds("PINSET_READYZ_TIMEOUT_MS").default(DEFAULT_READYZ_TIMEOUT_MS),
  PINSET_WATCH_MAX_PER_TOKEN: positiveInt("PINSET_WATCH_MAX_PER_TOKEN").default(HTTP_DEFAULTS.watchPerToken),
  PINSET_WATCH_MAX_PER_ADDRESS: positiveInt("PINSET_WATCH_MAX_PER_ADDRESS").default(HTTP_DEFAULTS.watchPerAddress),
  PINSET_KEEPALIVE_TIMEOUT_MS: positiveInt("PINSET_KEEPALIVE_TIMEOUT_MS").default(HTTP_DEFAULTS.keepAliveTimeoutMs),
  PINSET_BODY_IDLE_TIMEOUT_MS: positiveInt("PINSET_BODY_IDLE_TIMEOUT_MS").default(HTTP_DEFAULTS.bodyIdleTimeoutMs),
  PINSET_JSON_BODY_TIMEOUT_MS: positiveInt("PINSET_JSON_BODY_TIMEOUT_MS").default(HTTP_DEFAULTS.jsonBodyTimeoutMs),
  PINSET_SCHEMA_MAX_BYTES: atLeastOne("PINSET_SCHEMA_MAX_BYTES").default(DEFAULT_SCHEMA_SETTINGS.maxBytes),
  PINSET_SCHEMA_MAX_DEPTH: atLeastOne("PINSET_SCHEMA_MAX_DEPTH").default(DEFAULT_SCHEMA_SETTINGS.maxDepth),
  PINSET_SCHEMA_MAX_PROPERTIES: positiveInt("PINSET_SCHEMA_MAX_PROPERTIES").default(DEFAULT_SCHEMA_SETTINGS.maxProperties),
  PINSET_SCHEMA_MAX_BRANCHES: positiveInt("PINSET_SCHEMA_MAX_BRANCHES").default(DEFAULT_SCHEMA_SETTINGS.maxBranches),
  PINSET_SCHEMA_TIMEOUT_MS: atLeastOne("PINSET_SCHEMA_TIMEOUT_MS").default(DEFAULT_SCHEMA_SETTINGS.timeoutMs),
  PINSET_SCHEMA_WORKERS: atLeastOne("PINSET_SCHEMA_WORKERS")
    .refine((v) => v <= 64, "PINSET_SCHEMA_WORKERS must be at most 64")
    .default(DEFAULT_SCHEMA_SETTINGS.workers),
  PINSET_SCHEMA_QUEUE: positiveInt("PINSET_SCHEMA_QUEUE").default(DEFAULT_SCHEMA_SETTINGS.maxQueue),
  PINSET_WEBHOOK_ALLOW_PRIVATE: boolish.default(false),
  PINSET_GC_INTERVAL: interval("PINSET_GC_INTERVAL").default(0),
  PINSET_GC_WEBHOOK_RETENTION_DAYS: atLeastOne("PINSET_GC_WEBHOOK_RETENTION_DAYS").default(30),
  PINSET_ANALYSIS_TICK_MS: positiveInt("PINSET_ANALYSIS_TICK_MS")
    .refine((v) => v >= 10 && v <= 3_600_000, "PINSET_ANALYSIS_TICK_MS must be between 10 and 3600000 (milliseconds)")
    .default(DEFAULT_ANALYSIS_TICK_MS),
});

export interface S3Config {
  bucket: string;
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  checksums?: "when_required" | "when_supported";
  prefix: string;
}

export interface Config {
  port: number;
  host: string;
  /** Postgres connection string; undefined selects the embedded PGlite database. */
  databaseUrl?: string;
  dataDir: string;
  s3?: S3Config;
  adminToken?: string;
  logLevel: string;
  limits: { maxJsonBytes: number; maxBlobBytes: number };
  rateLimit: { rps: number; burst: number };
  publicUrl?: string;
  /**
   * Time budgets of database work (db/budgets.ts; enforced in server mode, PGlite cannot hang).
   * `staleAfterMs`: how long resolve, watch and a cached token wait for the database before
   * answering from memory (marked stale). `preparedStatements`: the frequent statements run
   * prepared on Postgres (db/prepared-statements.ts); off behind a pooler that cannot keep them.
   */
  database: { readMs: number; writeMs: number; acquireMs: number; staleAfterMs: number; preparedStatements?: boolean };
  /** Each `/readyz` check answers within this, or counts as failed. */
  readyzTimeoutMs: number;
  /** Caps on open watch streams; 0 turns a cap off. */
  watchLimits: { perToken: number; perAddress: number };
  http: { keepAliveTimeoutMs: number; bodyIdleTimeoutMs: number; jsonBodyTimeoutMs: number };
  /** Limits on JSON Schemas and the worker threads that compile and compare them. */
  schemas: SchemaSettings;
  /** allowPrivate: webhooks may target loopback, private, link-local … addresses (off by default). */
  webhooks: { allowPrivate: boolean };
  /** Scheduled garbage collection (0: off) and how long delivered webhook rows are kept. */
  gc: { intervalMs: number; webhookRetentionDays: number };
  /** How often each instance's rollout loops wake: the schedule of `auto` rollouts (rollouts/schedule-loop.ts) and the Prometheus analysis (analysis/loop.ts). */
  analysisTickMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Empty strings count as unset: `FOO= npm start` must not mean "FOO is the empty string". */
function withoutEmpty(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== "") out[k] = v;
  return out;
}

export function loadConfig(env: Record<string, string | undefined>): Readonly<Config> {
  const parsed = envSchema.safeParse(withoutEmpty(env));
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join(".") || "environment"}: ${i.message}`),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (!e.PINSET_S3_BUCKET && e.PINSET_S3_ENDPOINT) {
    problems.push("PINSET_S3_ENDPOINT is set but PINSET_S3_BUCKET is not: set both to use S3");
  }
  if (e.PINSET_RATE_LIMIT_RPS > 0 && e.PINSET_RATE_LIMIT_BURST < 1) {
    problems.push("PINSET_RATE_LIMIT_BURST must be at least 1 when rate limiting is on");
  }
  if (e.PINSET_KEEPALIVE_TIMEOUT_MS < 1000) problems.push("PINSET_KEEPALIVE_TIMEOUT_MS must be at least 1000");
  for (const name of ["PINSET_BODY_IDLE_TIMEOUT_MS", "PINSET_JSON_BODY_TIMEOUT_MS"] as const) {
    if (e[name] < 1000) problems.push(`${name} must be at least 1000`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const config: Config = {
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.PINSET_DATA_DIR),
    logLevel: e.LOG_LEVEL,
    limits: { maxJsonBytes: e.PINSET_MAX_JSON_BYTES, maxBlobBytes: e.PINSET_MAX_BLOB_BYTES },
    rateLimit: { rps: e.PINSET_RATE_LIMIT_RPS, burst: e.PINSET_RATE_LIMIT_BURST },
    database: {
      readMs: e.PINSET_DB_READ_TIMEOUT_MS,
      writeMs: e.PINSET_DB_WRITE_TIMEOUT_MS,
      acquireMs: e.PINSET_DB_ACQUIRE_TIMEOUT_MS,
      staleAfterMs: e.PINSET_STALE_AFTER_MS,
      preparedStatements: e.PINSET_DB_PREPARED_STATEMENTS,
    },
    readyzTimeoutMs: e.PINSET_READYZ_TIMEOUT_MS,
    watchLimits: { perToken: e.PINSET_WATCH_MAX_PER_TOKEN, perAddress: e.PINSET_WATCH_MAX_PER_ADDRESS },
    http: {
      keepAliveTimeoutMs: e.PINSET_KEEPALIVE_TIMEOUT_MS,
      bodyIdleTimeoutMs: e.PINSET_BODY_IDLE_TIMEOUT_MS,
      jsonBodyTimeoutMs: e.PINSET_JSON_BODY_TIMEOUT_MS,
    },
    schemas: {
      maxBytes: e.PINSET_SCHEMA_MAX_BYTES,
      maxDepth: e.PINSET_SCHEMA_MAX_DEPTH,
      maxProperties: e.PINSET_SCHEMA_MAX_PROPERTIES,
      maxBranches: e.PINSET_SCHEMA_MAX_BRANCHES,
      timeoutMs: e.PINSET_SCHEMA_TIMEOUT_MS,
      workers: e.PINSET_SCHEMA_WORKERS,
      maxQueue: e.PINSET_SCHEMA_QUEUE,
    },
    webhooks: { allowPrivate: e.PINSET_WEBHOOK_ALLOW_PRIVATE },
    gc: { intervalMs: e.PINSET_GC_INTERVAL, webhookRetentionDays: e.PINSET_GC_WEBHOOK_RETENTION_DAYS },
    analysisTickMs: e.PINSET_ANALYSIS_TICK_MS,
    ...(e.DATABASE_URL ? { databaseUrl: e.DATABASE_URL } : {}),
    ...(e.PINSET_ADMIN_TOKEN ? { adminToken: e.PINSET_ADMIN_TOKEN } : {}),
    ...(e.PINSET_PUBLIC_URL ? { publicUrl: e.PINSET_PUBLIC_URL } : {}),
    ...(e.PINSET_S3_BUCKET
      ? {
          s3: {
            bucket: e.PINSET_S3_BUCKET,
            region: e.PINSET_S3_REGION,
            forcePathStyle: e.PINSET_S3_FORCE_PATH_STYLE,
            prefix: e.PINSET_S3_PREFIX,
            ...(e.PINSET_S3_ENDPOINT ? { endpoint: e.PINSET_S3_ENDPOINT } : {}),
            ...(e.PINSET_S3_CHECKSUMS ? { checksums: e.PINSET_S3_CHECKSUMS } : {}),
          },
        }
      : {}),
  };
  return Object.freeze(config);
}
