import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Registry } from "prom-client";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runtimeSeriesNames } from "../../src/analysis/default-queries.js";
import { startLlmExporter, type LlmExporter } from "../support/llm-exporter.js";
import { PROMTOOL_BIN, startPrometheus, type TestPrometheus } from "../support/prometheus.js";
import { deployedEnv, envPath, makeSets, observe, startRollout } from "../support/rollouts.js";
import { REPO_ROOT } from "../support/spawn-server.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";

/**
 * What ships for operators: the registry's pinset_ metrics (promtool check metrics on a real
 * scrape), the alert rules (promtool check rules and promtool test rules) and the Grafana
 * dashboard (every query names only metrics the registry's own registry exports or the
 * documented runtime metrics, parses in a real Prometheus, and shows data once a registry and
 * a runtime are scraped).
 */

const RULES = path.join(REPO_ROOT, "deploy/prometheus/pinset-rules.yml");
const RULE_TESTS = path.join(REPO_ROOT, "test/fixtures/prometheus/pinset-rules.test.yml");
const DASHBOARD = path.join(REPO_ROOT, "deploy/grafana/pinset-four-lines.json");
const P = "support-bot";

const sample = (success: number) => ({
  "quality.success_rate": { count: success, trials: 2000 },
  "quality.adoption_rate": { count: 800, trials: 2000 },
  "latency.p95_ms": { buckets: [{ le: 500, count: 1500 }, { le: 1000, count: 1950 }, { le: "+Inf" as const, count: 2000 }] },
  "latency.timeout_rate": { count: 4, trials: 2000 },
  "cost.tokens_per_request": { mean: 600, stddev: 120, count: 2000 },
  "risk.injection_success": 0,
  "risk.unauthorized_tool_calls": 0,
  "risk.pii_leaks": 0,
});

let app: TestApp;
let exporter: LlmExporter;
let prom: TestPrometheus;

beforeAll(async () => {
  app = await startTestApp(backends().at(-1)!);
  // Real rollouts for the app's own gauges: one running with sample observations on both sides
  // (so the gate gives intervals), one promoted; and an analysis run with an error.
  expect((await app.request("PUT", `/v1/projects/${P}`)).status).toBe(201);
  const [stable, candidate] = (await makeSets(app, P, 2)) as [string, string];
  await deployedEnv(app, P, "production", stable);
  await startRollout(app, P, "production", { candidate, percent: 5 });
  expect((await observe(app, P, "production", stable, sample(1800))).status).toBe(201);
  expect((await observe(app, P, "production", candidate, sample(1790))).status).toBe(201);
  await deployedEnv(app, P, "staging", stable);
  await startRollout(app, P, "staging", { candidate, percent: 5 });
  const promoted = await app.request("POST", envPath(P, "staging", "/rollout/advance"), { body: { percent: 100, force: true, reason: "dashboard fixture" } });
  expect(promoted.status, await promoted.clone().text()).toBe(200);
  app.pinset.services.rolloutMetrics.recordRun({ project: P, environment: "production", status: "partial", errors: [{ kind: "empty_result" }] });
  exporter = await startLlmExporter({ seed: 3 });
  exporter.serve(stable);
  exporter.serve(candidate);
  prom = await startPrometheus({ targets: [new URL(app.url).host, exporter.target] });
}, 120_000);

afterAll(async () => {
  await prom?.close();
  await exporter?.close();
  await app?.close();
});

function promtool(args: string[], input?: string) {
  const run = spawnSync(PROMTOOL_BIN, args, { input, encoding: "utf8", cwd: REPO_ROOT });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** Every name a registry's /metrics carries: histograms and summaries as their series. */
function exportedNames(registry: Registry): Set<string> {
  const names = new Set<string>();
  for (const metric of registry.getMetricsAsArray() as unknown as { name: string; type: string }[]) {
    const kind = String(metric.type);
    if (kind === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(metric.name + s);
    else if (kind === "summary") for (const s of ["", "_sum", "_count"]) names.add(metric.name + s);
    else names.add(metric.name);
  }
  return names;
}

const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan"]);

/** The metric names a PromQL expression selects (strings, matchers, ranges and grouping lists removed). */
function metricNamesOf(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names: string[] = [];
  for (const m of bare.matchAll(/\$?[A-Za-z_:][\w:]*|\d[\w.]*(?:[eE][+-]\d+)?/g)) {
    const token = m[0];
    if (/^[\d$]/.test(token) || KEYWORDS.has(token.toLowerCase())) continue;
    if (/^\s*\(/.test(bare.slice(m.index! + token.length))) continue; // a function or an aggregation
    names.push(token);
  }
  return names;
}

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}
const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { uid: string; panels: Panel[]; templating: { list: { name: string; query: string | { query: string } }[] } };
const allPanels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const exprs = allPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
const variableQueries = dashboard.templating.list.filter((v) => v.name !== "datasource").map((v) => (typeof v.query === "string" ? v.query : v.query.query));

/** A dashboard expression as Grafana sends it for project support-bot, environment production. */
const asSent = (expr: string) =>
  expr.replaceAll("$__rate_interval", "1m").replaceAll("$__interval", "15s").replaceAll("$project", "support-bot").replaceAll("$environment", "production");

describe("the registry's /metrics", () => {
  it("draws no promtool check metrics complaint about a pinset_ metric", async () => {
    // Traffic, so the HTTP metrics have series too.
    expect((await app.request("GET", "/v1/projects")).status).toBe(200);
    const res = await fetch(`${app.url}/metrics`);
    const scrape = await res.text();
    for (const name of ["pinset_rollout_percent", "pinset_rollout_state", "pinset_rollout_info", "pinset_gate_signal", "pinset_gate_value", "pinset_gate_interval_low", "pinset_gate_interval_high", "pinset_analysis_runs_total", "pinset_analysis_errors_total", "pinset_http_requests_total"]) {
      expect(scrape).toMatch(new RegExp(`^${name}\\{`, "m"));
    }
    const { output } = promtool(["check", "metrics"], scrape);
    const complaints = output.split("\n").filter((line) => line.trim() !== "");
    // prom-client's default Node metrics draw their known _total complaints (TOOLCHAIN.md): the
    // check did run; none of the complaints is ours.
    expect(complaints.some((line) => line.startsWith("nodejs_"))).toBe(true);
    expect(complaints.filter((line) => line.includes("pinset_"))).toEqual([]);
  });
});

describe("deploy/prometheus/pinset-rules.yml", () => {
  it("passes promtool check rules", () => {
    const { status, output } = promtool(["check", "rules", RULES]);
    expect(output).toContain("SUCCESS: 5 rules found");
    expect(status, output).toBe(0);
  });

  it("passes its promtool unit tests (each alert fires once per environment, at the right time)", () => {
    const { status, output } = promtool(["test", "rules", RULE_TESTS]);
    expect(status, output).toBe(0);
  });

  it("alerts on the gate's red and black, a long pause and analysis errors, using only exported metrics", () => {
    const rules = (parseYaml(readFileSync(RULES, "utf8")) as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(["PinsetGateBlack", "PinsetGateRed", "PinsetRolloutPausedTooLong", "PinsetAnalysisErrors", "PinsetAnalysisFailing"]);
    const exported = exportedNames(app.pinset.metrics.registry);
    for (const rule of rules) {
      const names = metricNamesOf(rule.expr);
      expect(names.length, rule.alert).toBeGreaterThan(0);
      for (const name of names) expect(exported.has(name), `${rule.alert}: ${name}`).toBe(true);
    }
  });
});

describe("deploy/grafana/pinset-four-lines.json", () => {
  it("has a row for each line, rollout state and percent, and project/environment variables", () => {
    expect(dashboard.uid).toBe("pinset-four-lines");
    const rows = dashboard.panels.filter((p) => p.type === "row").map((p) => p.title);
    expect(rows).toEqual(["Rollout", "Quality", "Latency", "Cost", "Risk", "Analysis"]);
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(["datasource", "project", "environment"]);
    expect(exprs.some((e) => e.expr.includes("pinset_rollout_percent"))).toBe(true);
    expect(exprs.some((e) => e.expr.includes("pinset_rollout_state"))).toBe(true);
    for (const { panel, expr } of [...exprs, ...variableQueries.map((expr) => ({ panel: "variables", expr }))]) {
      for (const variable of expr.match(/\$\w+/g) ?? []) expect(["$project", "$environment", "$__rate_interval", "$1"], `${panel}: ${variable}`).toContain(variable);
    }
  });

  it("every query names only metrics the registry exports (its own registry) or the documented runtime metrics", () => {
    const exported = exportedNames(app.pinset.metrics.registry);
    const runtime = new Set(runtimeSeriesNames());
    const seen = new Set<string>();
    for (const { panel, expr } of [...exprs, ...variableQueries.map((e) => ({ panel: "variables", expr: e.replace(/^label_values\((.*), \w+\)$/, "$1") }))]) {
      const names = metricNamesOf(expr);
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) {
        expect(exported.has(name) || runtime.has(name), `${panel} names ${name}, which neither the registry nor the runtime contract exports`).toBe(true);
        seen.add(name);
      }
    }
    expect([...seen].filter((n) => n.startsWith("pinset_")).length).toBeGreaterThan(5);
    expect([...seen].filter((n) => n.startsWith("llm_")).length).toBeGreaterThan(3);
  });

  it("every query parses in a real Prometheus and shows data once the registry and a runtime are scraped", async () => {
    // Two scrapes of each target inside the 1 m rate window, and the gauges present.
    await prom.waitFor('count(up == 1) == 2 and count(pinset_rollout_percent) > 0 and count(rate(llm_requests_total[1m])) > 0', (d) => (d.result as unknown[]).length > 0, 45_000);
    await new Promise((r) => setTimeout(r, 2500));
    const empty: string[] = [];
    for (const { panel, expr } of exprs) {
      const data = await prom.query(asSent(expr)); // throws with Prometheus' parse error
      if ((data.result as unknown[]).length === 0) empty.push(`${panel}: ${expr}`);
    }
    expect(empty).toEqual([]);
  });

  it("the metric-name reader finds names, not labels, functions, strings or durations", () => {
    expect(metricNamesOf('sum by (le, version_set) (rate(llm_x_bucket{a="b", c=~"d.*"}[$__rate_interval])) / on (version_set) group_left() foo offset 5m and bar')).toEqual(["llm_x_bucket", "foo", "bar"]);
    expect(metricNamesOf('histogram_quantile(0.95, x) > 1e+3 or label_replace(y, "a", "$1", "b", "(.+)")')).toEqual(["x", "y"]);
  });
});
