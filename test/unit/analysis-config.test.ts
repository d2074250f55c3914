import { inspect } from "node:util";
import pino from "pino";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { parseAnalysisConfig, presentAnalysisConfig, toStoredConfig, type AnalysisConfig } from "../../src/analysis/config.js";
import { DEFAULT_QUERIES } from "../../src/analysis/default-queries.js";
import { Secret } from "../../src/analysis/secret.js";
import { UnprocessableError } from "../../src/core/errors.js";

const VS = 'version_set="{{version_set}}"';
/** The issue's example body, with real queries in place of its "…". */
const ISSUE_BODY = {
  provider: { type: "prometheus", url: "http://127.0.0.1:9090", headers: { authorization: "Bearer s3cr3t-t0ken-value" } },
  interval_seconds: 60,
  queries: {
    requests: `sum(increase(llm_requests_total{${VS}}[{{window}}]))`,
    "quality.success_rate": { count: `sum(increase(llm_requests_total{outcome="success",${VS}}[{{window}}]))`, trials: `sum(increase(llm_requests_total{${VS}}[{{window}}]))` },
    "latency.p95_ms": { buckets: `sum by (le) (increase(llm_request_duration_ms_bucket{${VS}}[{{window}}]))` },
    "cost.tokens_per_request": { mean: `sum(increase(llm_tokens_total{${VS}}[{{window}}])) / sum(increase(llm_requests_total{${VS}}[{{window}}]))`, stddev: `vector(120) and on() count(llm_requests_total{${VS}})`, count: `sum(increase(llm_requests_total{${VS}}[{{window}}]))` },
    "risk.injection_success": `sum(increase(llm_risk_events_total{kind="injection",${VS}}[{{window}}]))`,
  },
};

function problems(input: unknown): { path: string; message: string }[] {
  try {
    parseAnalysisConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(UnprocessableError);
    expect((error as UnprocessableError).status).toBe(422);
    return (error as UnprocessableError).errors ?? [];
  }
  throw new Error("the config was accepted");
}

const paths = (input: unknown) => problems(input).map((p) => p.path);
const withQueries = (queries: unknown) => ({ ...ISSUE_BODY, queries });
const q = (metric = "llm_requests_total") => `sum(increase(${metric}{${VS}}[{{window}}]))`;

describe("parseAnalysisConfig — accepted", () => {
  it("accepts the issue's body and fills in the defaults", () => {
    const config = parseAnalysisConfig(ISSUE_BODY);
    expect(config.provider).toMatchObject({ type: "prometheus", url: "http://127.0.0.1:9090", method: "POST" });
    expect(config.provider.headers.authorization).toBeInstanceOf(Secret);
    expect(config.provider.headers.authorization!.reveal()).toBe("Bearer s3cr3t-t0ken-value");
    expect(config).toMatchObject({ interval_seconds: 60, timeout_seconds: 10, consecutive_error_limit: 4 });
    // Stable key order: the metric order of decision reasons, then requests.
    expect(Object.keys(config.queries)).toEqual(["quality.success_rate", "latency.p95_ms", "cost.tokens_per_request", "risk.injection_success", "requests"]);
  });

  it("uses the default queries when none are given, and a copy of them", () => {
    const config = parseAnalysisConfig({ provider: { type: "prometheus", url: "https://prom.example/prometheus/" } });
    expect(config.queries).toEqual(DEFAULT_QUERIES);
    (config.queries["quality.success_rate"] as { count: string }).count = "changed";
    expect((DEFAULT_QUERIES["quality.success_rate"] as { count: string }).count).not.toBe("changed");
    expect(config.provider.url).toBe("https://prom.example/prometheus");
    expect(config.interval_seconds).toBe(60);
  });

  it("accepts segments.<name>, GET, the bounds of every range, and lower-cases header names", () => {
    const config = parseAnalysisConfig({
      provider: { type: "prometheus", url: "http://prom:9090", method: "GET", headers: { "X-Scope-OrgID": "tenant-1" } },
      interval_seconds: 5,
      timeout_seconds: 60,
      consecutive_error_limit: 1,
      queries: { "segments.long_context": q("llm_segment_requests_total"), "quality.success_rate": q() },
    });
    expect(Object.keys(config.provider.headers)).toEqual(["x-scope-orgid"]);
    expect(Object.keys(config.queries)).toEqual(["quality.success_rate", "segments.long_context"]);
    expect(parseAnalysisConfig({ ...ISSUE_BODY, interval_seconds: 3600 }).interval_seconds).toBe(3600);
  });

  it("accepts placeholders with inner spaces, in single quotes, and {{project}} / {{environment}}", () => {
    expect(() => parseAnalysisConfig(withQueries({ "risk.pii_leaks": `sum(x{version_set='{{ version_set }}', env="{{environment}}", p="{{project}}"}[{{ window }}])` }))).not.toThrow();
  });
});

describe("parseAnalysisConfig — 422 naming the path", () => {
  it("refuses an unknown metric key, and the nested form", () => {
    expect(paths(withQueries({ "quality.sucess_rate": q() }))).toEqual(["queries.quality.sucess_rate"]);
    expect(problems(withQueries({ quality: { success_rate: q() } }))[0]).toMatchObject({ path: "queries.quality", message: expect.stringContaining("unknown metric") });
    expect(paths(withQueries({ "segments.Bad Name": q(), "latency.p95_ms": q() }))).toEqual(["queries.segments.Bad Name"]);
    expect(paths(withQueries(JSON.parse(`{"__proto__": "x", "latency.p95_ms": "${q().replaceAll('"', '\\"')}"}`)))).toEqual(["queries.__proto__"]);
  });

  it("refuses a template with an unknown or misplaced placeholder, or without {{version_set}}", () => {
    const unknown = problems(withQueries({ requests: `sum(x{version_set="{{version_set}}", t="{{tenant}}"})`, "quality.success_rate": q() }));
    expect(unknown).toEqual([{ path: "queries.requests", message: expect.stringContaining('unknown placeholder "{{tenant}}"') }]);
    expect(problems(withQueries({ requests: "sum(x{version_set={{version_set}}})" }))[0]!.message).toContain("must stand inside a quoted label value");
    expect(problems(withQueries({ requests: "sum(x{version_set=`{{version_set}}`})" }))[0]!.message).toContain("raw");
    expect(problems(withQueries({ requests: `sum(x{version_set="{{version_set}}"}["{{window}}"])` }))[0]!.message).toContain("{{window}} is a duration");
    expect(problems(withQueries({ "risk.pii_leaks": "sum(x) # {{version_set}}" }))[0]!.message).toContain("comment");
    expect(problems(withQueries({ "risk.pii_leaks": `sum(x{version_set="{{version_set"})` }))[0]!.message).toContain('has no closing "}}"');
    expect(problems(withQueries({ "risk.pii_leaks": "sum(increase(x[{{window}}]))" }))[0]).toMatchObject({ path: "queries.risk.pii_leaks", message: expect.stringContaining("must use {{version_set}}") });
  });

  it("refuses an object form missing a field, with an unknown field, or of another metric's form", () => {
    expect(problems(withQueries({ "quality.success_rate": { count: q() } }))).toEqual([
      { path: "queries.quality.success_rate.trials", message: expect.stringContaining("is required") },
    ]);
    expect(paths(withQueries({ "cost.tokens_per_request": { mean: q(), count: q() } }))).toEqual(["queries.cost.tokens_per_request.stddev"]);
    expect(paths(withQueries({ "latency.p95_ms": { buckets: q(), quantile: q() } }))).toEqual(["queries.latency.p95_ms.quantile"]);
    const wrongForm = problems(withQueries({ "latency.p95_ms": { count: q(), trials: q() } }));
    expect(wrongForm).toEqual([{ path: "queries.latency.p95_ms", message: expect.stringMatching(/\{"buckets"\}.*\{"count", "trials"\} is the form of a rate/) }]);
    expect(problems(withQueries({ "risk.injection_success": { count: q(), trials: q() } }))[0]).toMatchObject({ path: "queries.risk.injection_success", message: expect.stringContaining("risk counts are exact") });
    expect(paths(withQueries({ requests: { buckets: q() }, "latency.p95_ms": q() }))).toEqual(["queries.requests"]);
    expect(paths(withQueries({ "quality.success_rate": { count: q(), trials: 5 } }))).toEqual(["queries.quality.success_rate.trials"]);
    expect(paths(withQueries({ "quality.success_rate": { count: "  ", trials: q() } }))).toEqual(["queries.quality.success_rate.count"]);
    expect(paths(withQueries({ "quality.success_rate": [q()] }))).toEqual(["queries.quality.success_rate"]);
  });

  it("refuses queries with no metric, and a queries value that is no object", () => {
    expect(problems(withQueries({ requests: q() }))[0]).toMatchObject({ path: "queries", message: expect.stringContaining("at least one metric query") });
    expect(paths(withQueries({}))).toEqual(["queries"]);
    expect(paths(withQueries("sum(x)"))).toEqual(["queries"]);
  });

  it("refuses a non-http(s) URL, credentials, a query string and anything but prometheus", () => {
    const provider = (p: object) => ({ ...ISSUE_BODY, provider: { type: "prometheus", url: "http://127.0.0.1:9090", ...p } });
    for (const url of ["ftp://prom:21", "file:///etc/passwd", "javascript:alert(1)", "prom:9090", "not a url", "http://user:pw@prom:9090", "http://prom:9090/?x=1", "http://prom:9090/#top", 42]) {
      expect(paths(provider({ url })), String(url)).toEqual(["provider.url"]);
    }
    expect(problems(provider({ url: "http://user:pw@prom:9090" }))[0]!.message).not.toContain("pw");
    expect(paths(provider({ type: "datadog" }))).toEqual(["provider.type"]);
    expect(paths(provider({ method: "PUT" }))).toEqual(["provider.method"]);
    expect(paths(provider({ tls: {} }))).toEqual(["provider.tls"]);
    expect(paths({ ...ISSUE_BODY, provider: undefined })).toEqual(["provider"]);
  });

  it("refuses interval_seconds outside 5…3600 or fractional, and other ranges", () => {
    for (const interval_seconds of [4, 3601, 0, -60, 60.5, "60", null]) {
      expect(paths({ ...ISSUE_BODY, interval_seconds }), String(interval_seconds)).toEqual(["interval_seconds"]);
    }
    expect(problems({ ...ISSUE_BODY, interval_seconds: 4 })[0]!.message).toBe("must be at least 5 seconds");
    expect(paths({ ...ISSUE_BODY, timeout_seconds: 0.5 })).toEqual(["timeout_seconds"]);
    expect(paths({ ...ISSUE_BODY, timeout_seconds: 61 })).toEqual(["timeout_seconds"]);
    expect(paths({ ...ISSUE_BODY, consecutive_error_limit: 0 })).toEqual(["consecutive_error_limit"]);
    expect(paths({ ...ISSUE_BODY, consecutive_error_limit: 2.5 })).toEqual(["consecutive_error_limit"]);
    expect(paths({ ...ISSUE_BODY, intervl_seconds: 60 })).toEqual(["intervl_seconds"]);
  });

  it("lists every problem at once", () => {
    expect(paths({ provider: { type: "prometheus", url: "ftp://x" }, interval_seconds: 1, queries: { "quality.success_rate": { count: q() }, nope: q() } }).sort()).toEqual(
      ["interval_seconds", "provider.url", "queries.nope", "queries.quality.success_rate.trials"].sort(),
    );
  });

  it("refuses bad header names and values without ever quoting the value", () => {
    const secret = "Bearer do-not-print-me";
    const headers = (h: Record<string, unknown>) => ({ ...ISSUE_BODY, provider: { ...ISSUE_BODY.provider, headers: h } });
    const cases: [Record<string, unknown>, string][] = [
      [{ "bad name": secret }, "provider.headers.bad name"],
      [{ Host: secret }, "provider.headers.Host"],
      [{ "content-type": secret }, "provider.headers.content-type"],
      [{ authorization: `${secret}\r\nx-injected: 1` }, "provider.headers.authorization"],
      [{ authorization: `${secret}\u0000` }, "provider.headers.authorization"],
      [{ authorization: 42 }, "provider.headers.authorization"],
      [{ authorization: "" }, "provider.headers.authorization"],
      [{ authorization: secret, Authorization: secret }, "provider.headers.Authorization"],
    ];
    for (const [given, path] of cases) {
      const found = problems(headers(given));
      expect(found.map((p) => p.path), path).toEqual([path]);
      expect(JSON.stringify(found)).not.toContain("do-not-print-me");
    }
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`x-h${i}`, "v"]));
    expect(paths(headers(many))).toEqual(["provider.headers"]);
  });
});

describe("header values are secrets", () => {
  const config: AnalysisConfig = parseAnalysisConfig(ISSUE_BODY);
  const SECRET = "s3cr3t-t0ken-value";

  it("present() shows header names only", () => {
    const view = presentAnalysisConfig(config);
    expect(view.provider).toEqual({ type: "prometheus", url: "http://127.0.0.1:9090", method: "POST", header_names: ["authorization"] });
    expect(JSON.stringify(view)).not.toContain(SECRET);
    expect(view).not.toHaveProperty("provider.headers");
  });

  it("the parsed config itself never shows a value: JSON, String, inspect, a pino log line", () => {
    expect(JSON.stringify(config)).not.toContain(SECRET);
    expect(JSON.stringify(config)).toContain('"authorization":"[redacted]"');
    expect(inspect(config, { depth: 10 })).not.toContain(SECRET);
    expect(`${config.provider.headers.authorization}`).toBe("[redacted]");
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
    const logger = pino({ level: "info" }, sink);
    logger.info({ config, provider: config.provider, headers: config.provider.headers }, "analysis config saved");
    logger.info(`config ${String(config.provider.headers.authorization)}`);
    expect(lines.join("")).toContain("analysis config saved");
    expect(lines.join("")).not.toContain(SECRET);
    expect({ ...config.provider.headers.authorization }).toEqual({});
  });

  it("a header named __proto__ stays data", () => {
    const odd = parseAnalysisConfig(JSON.parse('{"provider": {"type": "prometheus", "url": "http://p:9090", "headers": {"__proto__": "value-1234"}}}'));
    expect(presentAnalysisConfig(odd).provider.header_names).toEqual(["__proto__"]);
    expect(odd.provider.headers["__proto__"]!.reveal()).toBe("value-1234");
  });

  it("toStoredConfig() reveals the values for the store, and parses back to the same config", () => {
    const stored = toStoredConfig(config);
    expect(stored.provider.headers).toEqual({ authorization: `Bearer ${SECRET}` });
    const again = parseAnalysisConfig(JSON.parse(JSON.stringify(stored)));
    expect(presentAnalysisConfig(again)).toEqual(presentAnalysisConfig(config));
    expect(again.provider.headers.authorization!.reveal()).toBe(`Bearer ${SECRET}`);
  });
});
