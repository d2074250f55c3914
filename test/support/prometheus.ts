/**
 * A real Prometheus for tests: Debian's `prometheus` package (/usr/bin/prometheus; CI installs it
 * from .ci/run), started with a temporary config and data directory on a free port.
 *
 *   const prom = await startPrometheus({ targets: ["127.0.0.1:4567"] });   scrapes every 1 s
 *   prom.url                         http://127.0.0.1:<port>
 *   await prom.stop();               SIGTERM, waits for the exit (data stays: start() again)
 *   await prom.start();              same port, same data; waits for /-/ready
 *   await prom.waitFor(query, ok)    polls an instant query until ok(result) (or times out)
 *   await prom.close();              stops it and removes the directory
 *   prom.logs()                      what it printed (for a failing test's message)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./spawn-server.js";

export const PROMETHEUS_BIN = "/usr/bin/prometheus";
export const PROMTOOL_BIN = "/usr/bin/promtool";

export interface TestPrometheus {
  url: string;
  port: number;
  dir: string;
  running(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
  logs(): string;
  /** Instant query at `time` (default now) through the HTTP API: the raw `data`. */
  query(promql: string, time?: Date): Promise<{ resultType: string; result: unknown }>;
  waitFor(promql: string, ok: (data: { resultType: string; result: unknown }) => boolean, timeoutMs?: number): Promise<void>;
}

function configYaml(targets: readonly string[], scrapeSeconds: number): string {
  return [
    "global:",
    `  scrape_interval: ${scrapeSeconds}s`,
    `  scrape_timeout: ${scrapeSeconds}s`,
    `  evaluation_interval: ${scrapeSeconds}s`,
    "scrape_configs:",
    "  - job_name: test",
    "    static_configs:",
    `      - targets: [${targets.map((t) => JSON.stringify(t)).join(", ")}]`,
    "",
  ].join("\n");
}

export async function startPrometheus(options: { targets: readonly string[]; scrapeSeconds?: number; readyTimeoutMs?: number }): Promise<TestPrometheus> {
  const dir = await mkdtemp(path.join(tmpdir(), "pinset-prometheus-"));
  const configFile = path.join(dir, "prometheus.yml");
  await writeFile(configFile, configYaml(options.targets, options.scrapeSeconds ?? 1));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = "";

  const ready = async () => {
    const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
    for (;;) {
      if (!child || child.exitCode !== null) throw new Error(`prometheus exited before it was ready:\n${output.slice(-4000)}`);
      const ok = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`prometheus was not ready within ${options.readyTimeoutMs ?? 30_000} ms:\n${output.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const prom: TestPrometheus = {
    url,
    port,
    dir,
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    async start() {
      if (prom.running()) return;
      child = spawn(
        PROMETHEUS_BIN,
        [
          `--config.file=${configFile}`,
          `--storage.tsdb.path=${path.join(dir, "data")}`,
          `--web.listen-address=127.0.0.1:${port}`,
          "--log.level=warn",
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      const c = child;
      c.stdout!.on("data", (d: Buffer) => (output += d.toString()));
      c.stderr!.on("data", (d: Buffer) => (output += d.toString()));
      exited = new Promise((resolve) => c.once("exit", () => resolve()));
      await ready();
    },
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      c.kill("SIGTERM");
      const killer = setTimeout(() => c.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(killer);
    },
    async close() {
      await prom.stop();
      await rm(dir, { recursive: true, force: true });
    },
    logs: () => output,
    async query(promql, time = new Date()) {
      const body = new URLSearchParams({ query: promql, time: (time.getTime() / 1000).toFixed(3) });
      const res = await fetch(`${url}/api/v1/query`, { method: "POST", body });
      const json = (await res.json()) as { status: string; data: { resultType: string; result: unknown }; error?: string };
      if (json.status !== "success") throw new Error(`query ${promql} failed: ${json.error}`);
      return json.data;
    },
    async waitFor(promql, ok, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const data = await prom.query(promql).catch(() => undefined);
        if (data && ok(data)) return;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${promql}: last ${JSON.stringify(data)?.slice(0, 500)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
  };
  try {
    await prom.start();
  } catch (error) {
    await prom.close();
    throw error;
  }
  return prom;
}

/** The single number of a one-sample vector or scalar answer, else undefined. */
export function numberOf(data: { resultType: string; result: unknown }): number | undefined {
  if (data.resultType === "scalar") return Number((data.result as [number, string])[1]);
  const result = data.result as { value: [number, string] }[];
  return data.resultType === "vector" && result.length === 1 ? Number(result[0]!.value[1]) : undefined;
}
