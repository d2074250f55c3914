/**
 * An environment's analysis config: where its metrics live and how to read the four lines from
 * there. The body of `PUT /v1/projects/{p}/environments/{env}/analysis`:
 *
 *   {"provider": {"type": "prometheus", "url": "http://127.0.0.1:9090",
 *                 "headers": {"authorization": "Bearer …"},     optional; values are secrets
 *                 "method": "POST"},                            optional: GET | POST (default)
 *    "interval_seconds": 60,                                    5 … 3600, default 60
 *    "timeout_seconds": 10,                                     per query, 1 … 60, default 10
 *    "consecutive_error_limit": 4,                              1 … 100, default 4
 *    "queries": {…}}                                            queries.ts; default DEFAULT_QUERIES
 *
 * For the wiring (part B):
 *   parseAnalysisConfig(body)    → AnalysisConfig, or UnprocessableError (422) with one
 *                                  {path, message} per problem; paths relative to the body
 *                                  (`provider.url`, `queries.latency.p95_ms.buckets`)
 *   presentAnalysisConfig(cfg)   → what GET answers: header names only, never a value
 *   toStoredConfig(cfg)          → plain JSON with the header values, for the config store only;
 *                                  parseAnalysisConfig reads it back
 * Header values live in Secret (secret.ts): JSON, String() and util.inspect show "[redacted]",
 * so a config that reaches a log line or an answer by mistake shows no value.
 *
 * The URL is Prometheus' base URL (any path prefix kept: `http://host/prometheus`); credentials
 * in it are refused (fetch cannot send them and GET would show them: use a header), as are a
 * query or fragment (the client appends `/api/v1/query` and its own parameters).
 */
import { z } from "zod";
import { UnprocessableError, type FieldError } from "../core/errors.js";
import { DEFAULT_QUERIES } from "./default-queries.js";
import { orderQueries, queriesSchema, type Queries } from "./queries.js";
import { Secret } from "./secret.js";

export const INTERVAL_SECONDS = { min: 5, max: 3600, default: 60 } as const;
export const TIMEOUT_SECONDS = { min: 1, max: 60, default: 10 } as const;
export const CONSECUTIVE_ERROR_LIMIT = { min: 1, max: 100, default: 4 } as const;
export const MAX_HEADERS = 20;
const MAX_URL_LENGTH = 2048;
const MAX_HEADER_VALUE = 8192;

/** Headers the client sets itself, or that would change how the request travels. */
const RESERVED_HEADERS = new Set(["host", "content-length", "content-type", "accept", "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "expect"]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
// Visible ASCII, space, tab and obs-text; no CR, LF, NUL or other controls (request splitting).
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export interface ProviderConfig {
  type: "prometheus";
  /** Normalised base URL without a trailing slash. */
  url: string;
  method: "GET" | "POST";
  /** Lowercased names → secret values. */
  headers: Record<string, Secret>;
}

export interface AnalysisConfig {
  provider: ProviderConfig;
  interval_seconds: number;
  timeout_seconds: number;
  consecutive_error_limit: number;
  queries: Queries;
}

export interface AnalysisConfigView {
  provider: { type: "prometheus"; url: string; method: "GET" | "POST"; header_names: string[] };
  interval_seconds: number;
  timeout_seconds: number;
  consecutive_error_limit: number;
  queries: Queries;
}

export type StoredAnalysisConfig = Omit<AnalysisConfigView, "provider"> & {
  provider: { type: "prometheus"; url: string; method: "GET" | "POST"; headers: Record<string, string> };
};

const urlSchema = z.string({ error: "must be the http(s) URL of Prometheus, e.g. http://127.0.0.1:9090" }).transform((value, ctx) => {
  const fail = (message: string) => {
    ctx.addIssue({ code: "custom", message });
    return z.NEVER;
  };
  if (value.length > MAX_URL_LENGTH) return fail(`must be at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail("must be an absolute http:// or https:// URL, e.g. http://127.0.0.1:9090");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return fail(`must use http or https, not ${url.protocol.slice(0, -1)}`);
  if (url.username || url.password) return fail("must not contain credentials: send them as a header (e.g. authorization), which is kept secret");
  if (url.search || url.hash || value.includes("?") || value.includes("#")) return fail("must not have a query or fragment: give Prometheus' base URL (the client adds /api/v1/query)");
  return url.href.replace(/\/+$/, "");
});

// z.unknown() rather than z.record: the record would drop an own "__proto__" key unseen.
const headersSchema = z.unknown().transform((headers, ctx) => {
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) {
    ctx.addIssue({ code: "custom", message: 'must be an object of header name → value, e.g. {"authorization": "Bearer …"}' });
    return z.NEVER;
  }
  const names = Object.keys(headers);
  if (names.length > MAX_HEADERS) ctx.addIssue({ code: "custom", message: `at most ${MAX_HEADERS} headers` });
  // Null prototype: a header named __proto__ stays data.
  const out = Object.create(null) as Record<string, Secret>;
  const seen = new Set<string>();
  for (const name of names) {
    const lower = name.toLowerCase();
    const value = (headers as Record<string, unknown>)[name];
    // Messages never quote the value: it is a secret, and a 422 is logged and shown.
    const problem = !HEADER_NAME.test(name)
      ? "must be a header name (letters, digits and !#$%&'*+.^_`|~-, at most 128)"
      : RESERVED_HEADERS.has(lower)
        ? "is set by the client itself and cannot be configured"
        : seen.has(lower)
          ? "is given twice (header names are case-insensitive)"
          : typeof value !== "string"
            ? "must be a string"
            : value.length === 0 || value.length > MAX_HEADER_VALUE
              ? `must be 1 to ${MAX_HEADER_VALUE} characters`
              : !HEADER_VALUE.test(value)
                ? "must not contain line breaks or other control characters"
                : undefined;
    if (problem) ctx.addIssue({ code: "custom", path: [name], message: problem });
    else out[lower] = new Secret(value as string);
    seen.add(lower);
  }
  return out;
});

const wholeBetween = (range: { min: number; max: number }, unit = "") =>
  z
    .int({ error: `must be a whole number from ${range.min} to ${range.max}${unit}` })
    .min(range.min, { error: `must be at least ${range.min}${unit}` })
    .max(range.max, { error: `must be at most ${range.max}${unit}` });

export const analysisConfigSchema = z.strictObject({
  provider: z.strictObject(
    {
      type: z.literal("prometheus", { error: 'must be "prometheus" (the only provider so far)' }),
      url: urlSchema,
      method: z.enum(["GET", "POST"], { error: 'must be "GET" or "POST"' }).default("POST"),
      headers: headersSchema.default({}),
    },
    { error: 'must be {"type": "prometheus", "url": …}' },
  ),
  interval_seconds: wholeBetween(INTERVAL_SECONDS, " seconds").default(INTERVAL_SECONDS.default),
  timeout_seconds: z
    .number({ error: `must be a number of seconds from ${TIMEOUT_SECONDS.min} to ${TIMEOUT_SECONDS.max}` })
    .min(TIMEOUT_SECONDS.min, { error: `must be at least ${TIMEOUT_SECONDS.min} second` })
    .max(TIMEOUT_SECONDS.max, { error: `must be at most ${TIMEOUT_SECONDS.max} seconds` })
    .default(TIMEOUT_SECONDS.default),
  consecutive_error_limit: wholeBetween(CONSECUTIVE_ERROR_LIMIT).default(CONSECUTIVE_ERROR_LIMIT.default),
  queries: queriesSchema.optional(),
});

function toFieldErrors(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  return issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ path: [...issue.path, key].map(String).join("."), message: "unknown field" }))
      : [{ path: issue.path.map(String).join("."), message: issue.message }],
  );
}

/** Validates an analysis body (or a stored config) and fills in the defaults. Throws 422. */
export function parseAnalysisConfig(input: unknown): AnalysisConfig {
  const parsed = analysisConfigSchema.safeParse(input);
  if (!parsed.success) throw new UnprocessableError("The analysis config is invalid", toFieldErrors(parsed.error.issues));
  const { provider, queries, ...rest } = parsed.data;
  return {
    provider: { type: provider.type, url: provider.url, method: provider.method, headers: provider.headers },
    ...rest,
    queries: queries ?? orderQueries(structuredClone(DEFAULT_QUERIES) as Queries),
  };
}

/** What GET shows: everything but the header values. */
export function presentAnalysisConfig(config: AnalysisConfig): AnalysisConfigView {
  const { provider, ...rest } = config;
  return {
    provider: { type: provider.type, url: provider.url, method: provider.method, header_names: Object.keys(provider.headers).sort() },
    ...rest,
    queries: structuredClone(config.queries),
  };
}

/** The config with its header values revealed: for the config store, nothing else. */
export function toStoredConfig(config: AnalysisConfig): StoredAnalysisConfig {
  const { provider, ...rest } = config;
  const headers = Object.fromEntries(Object.entries(provider.headers).map(([name, value]) => [name, value.reveal()]));
  return { provider: { type: provider.type, url: provider.url, method: provider.method, headers }, ...rest, queries: structuredClone(config.queries) };
}
