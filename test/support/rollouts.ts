import { expect } from "vitest";
import type { TestApp } from "./test-app.js";

/** Helpers for the rollout tests: version sets to roll out, environments, observations. */

export const WINDOW = { window_start: "2026-01-01T00:00:00Z", window_end: "2026-01-01T01:00:00Z" };

export function envPath(project: string, env: string, suffix = ""): string {
  return `/v1/projects/${project}/environments/${env}${suffix}`;
}

/** `n` distinct version sets of `project` (a config artifact per set, pinned in slot `cfg`). */
export async function makeSets(t: TestApp, project: string, n: number, tag = "set"): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const published = await t.request("POST", `/v1/projects/${project}/artifacts/config/${tag}`, { body: { content: { values: { i, tag } } } });
    expect(published.status, await published.clone().text()).toBeLessThan(300);
    const { version } = (await published.json()) as { version: number };
    const created = await t.request("POST", `/v1/projects/${project}/version-sets`, {
      body: { components: { cfg: `config/${tag}@${version}` }, description: `${tag} ${i}` },
    });
    expect(created.status, await created.clone().text()).toBeLessThan(300);
    ids.push(((await created.json()) as { id: string }).id);
  }
  return ids;
}

/** Creates the environment and deploys `stable` to it. */
export async function deployedEnv(t: TestApp, project: string, env: string, stable: string, options: { protected?: boolean } = {}): Promise<void> {
  const created = await t.request("PUT", envPath(project, env), { body: options.protected ? { protected: true } : {} });
  expect(created.status).toBe(201);
  const deployed = await t.request("POST", envPath(project, env, "/deploy"), { body: { version_set: stable } });
  expect(deployed.status, await deployed.clone().text()).toBe(200);
}

export interface RolloutJson {
  id: string;
  environment: string;
  stable: string;
  candidate: string;
  percent: number;
  allow: string[];
  state: "running" | "paused" | "promoted" | "aborted";
  auto: boolean;
  revision: number;
  created_at: string;
  updated_at: string;
  ended_at: string | null;
  evidence: string[];
}

export interface DecisionJson {
  signal: string;
  action: string;
  reasons: Array<{ metric: string; baseline: number | null; candidate: number | null; threshold: unknown; verdict: string }>;
}

export interface HistoryJson {
  revision: number;
  action: string;
  version_set: string | null;
  previous: string | null;
  actor: string;
  reason: string | null;
  trace_id: string | null;
  detail: Record<string, unknown> | null;
  at: string;
}

export async function startRollout(t: TestApp, project: string, env: string, body: Record<string, unknown>): Promise<RolloutJson> {
  const res = await t.request("PUT", envPath(project, env, "/rollout"), { body });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as RolloutJson;
}

export function observe(t: TestApp, project: string, env: string, versionSet: string, metrics: unknown, extra: Record<string, unknown> = {}): Promise<Response> {
  return t.request("POST", envPath(project, env, "/observations"), { body: { version_set: versionSet, ...WINDOW, metrics, ...extra } });
}

export async function decision(t: TestApp, project: string, env: string): Promise<DecisionJson> {
  const res = await t.request("GET", envPath(project, env, "/rollout/decision"));
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as DecisionJson;
}

export async function history(t: TestApp, project: string, env: string): Promise<HistoryJson[]> {
  const res = await t.request("GET", envPath(project, env, "/history?limit=500"));
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: HistoryJson[] }).items;
}

export async function expectProblem(res: Response, status: number, code: string): Promise<{ detail: string; errors?: Array<{ path: string; message: string }> }> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(text) as { code: string; detail: string; errors?: Array<{ path: string; message: string }> };
  expect(body.code, text).toBe(code);
  return body;
}
