import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAnalysisConfig } from "../../src/analysis/config.js";
import { DEFAULT_QUERIES, RUNTIME_METRICS } from "../../src/analysis/default-queries.js";
import { ANALYSIS_ERROR_KINDS } from "../../src/analysis/errors.js";
import { REPO_ROOT } from "../support/spawn-server.js";

/** docs/observability.md says what the code does: its body, its metric names, its Node example. */

const DOC = readFileSync(path.join(REPO_ROOT, "docs/observability.md"), "utf8");

function fences(lang: string): string[] {
  return [...DOC.matchAll(new RegExp("^```" + lang + "\\n([\\s\\S]*?)^```$", "gm"))].map((m) => m[1]!);
}

describe("docs/observability.md", () => {
  it("has no shell block (the analysis route is not wired yet) so doc-blocks has nothing to run here", () => {
    expect(fences("(?:sh|bash|shell)")).toEqual([]);
  });

  it("its copy-paste analysis body is valid and its queries are exactly the defaults", () => {
    const [body] = fences("json");
    const config = parseAnalysisConfig(JSON.parse(body!));
    expect(config.queries).toEqual(DEFAULT_QUERIES);
    expect(config).toMatchObject({ interval_seconds: 60, timeout_seconds: 10, consecutive_error_limit: 4 });
  });

  it("its optional queries are valid keys and templates", () => {
    const [, optional] = fences("json");
    expect(() => parseAnalysisConfig({ provider: { type: "prometheus", url: "http://p:9090" }, queries: JSON.parse(optional!) })).not.toThrow();
  });

  it("names every runtime metric with its labels, every error kind and the chapter's field contract", () => {
    for (const [name, metric] of Object.entries(RUNTIME_METRICS)) {
      const row = DOC.split("\n").find((line) => line.startsWith(`| \`${name}\` |`));
      expect(row, name).toBeDefined();
      expect(row).toContain(metric.type);
      for (const label of metric.labels) expect(row, `${name} ${label}`).toContain(`\`${label}\``);
    }
    for (const kind of ANALYSIS_ERROR_KINDS.filter((k) => k !== "aborted")) expect(DOC, kind).toContain(`| \`${kind}\` |`);
    for (const field of ["trace_id", "version_set", "tokens_in", "tokens_out", "tool_calls", "latency_ms"]) expect(DOC).toContain(`\`${field}\``);
  });

  it("its Node example runs and exports exactly the runtime metrics, at 0 from a set's first request", () => {
    const [example] = fences("ts");
    const dir = mkdtempSync(path.join(tmpdir(), "pinset-doc-example-"));
    try {
      symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
      writeFileSync(path.join(dir, "package.json"), '{"type": "module"}');
      writeFileSync(path.join(dir, "instrument.ts"), example!);
      writeFileSync(
        path.join(dir, "main.ts"),
        [
          'import { register } from "prom-client";',
          'import { recordRequest } from "./instrument.ts";',
          "const lines: string[] = [];",
          'recordRequest({ trace_id: "t-1", version_set: "vs_abc", outcome: "success", latency_ms: 730, tokens_in: 420, tokens_out: 180, tool_calls: [{ name: "search", allowed: true }, { name: "refund", allowed: false }], segments: ["long_context"] }, (l) => lines.push(l));',
          'recordRequest({ trace_id: "t-2", version_set: "vs_abc", outcome: "timeout", latency_ms: 30000, tokens_in: 400, tokens_out: 0, tool_calls: [], risk: ["injection"] }, (l) => lines.push(l));',
          "process.stdout.write(JSON.stringify({ lines, metrics: await register.metrics() }));",
        ].join("\n"),
      );
      const run = spawnSync(process.execPath, ["--import", "tsx", path.join(dir, "main.ts")], { cwd: REPO_ROOT, encoding: "utf8" });
      expect(run.status, run.stderr).toBe(0);
      const { lines, metrics } = JSON.parse(run.stdout) as { lines: string[]; metrics: string };
      expect(JSON.parse(lines[0]!)).toEqual({ msg: "llm request", trace_id: "t-1", version_set: "vs_abc", outcome: "success", latency_ms: 730, tokens_in: 420, tokens_out: 180, tool_calls: 2 });
      const families = [...metrics.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]);
      expect(families.sort()).toEqual(Object.entries(RUNTIME_METRICS).map(([name, m]) => [name, m.type]).sort());
      const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m").exec(metrics)?.[1]);
      expect(value('llm_requests_total{version_set="vs_abc",outcome="success"}')).toBe(1);
      expect(value('llm_requests_total{version_set="vs_abc",outcome="failure"}')).toBe(0);
      expect(value('llm_tokens_total{version_set="vs_abc",direction="in"}')).toBe(820);
      expect(value('llm_tokens_squared_total{version_set="vs_abc"}')).toBe(600 * 600 + 400 * 400);
      expect(value('llm_risk_events_total{version_set="vs_abc",kind="injection"}')).toBe(1);
      expect(value('llm_risk_events_total{version_set="vs_abc",kind="unauthorized_tool_call"}')).toBe(1);
      expect(value('llm_risk_events_total{version_set="vs_abc",kind="pii_leak"}')).toBe(0);
      expect(value('llm_request_duration_ms_count{version_set="vs_abc"}')).toBe(2);
      expect(value('llm_segment_requests_total{version_set="vs_abc",segment="long_context"}')).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
