import http from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { spawnServer, type SpawnedServer } from "../../test/support/spawn-server.js";
import { summarize, type Summary } from "./stats.js";

/**
 * Hostile JSON Schemas against one registry process (embedded database, defaults otherwise):
 * how long the publish takes to be answered, and how long `/healthz` answers take meanwhile,
 * beside `/healthz` with nothing else going on, in the same run. The schemas are the ones of
 * the hardening report (50 000 and 200 000 properties, allOf with 20 000 entries) and one within
 * the default limits that takes seconds to compile.
 */
export interface StallCase {
  name: string;
  bytes: number;
  /** 0 when the request failed without an answer (the error is in `failure`). */
  status: number;
  failure?: string;
  answerMs: number;
  healthz: Summary;
  /** /healthz probes that failed (connection reset, refused). */
  probeErrors: number;
}

export interface StallResult {
  idle: Summary;
  cases: StallCase[];
}

const TOKEN = "bench-schema-token-0123456789abcdef";
const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });

/** One /healthz round trip: how long it took, and whether it failed (a reset after a stall). */
function healthz(url: string): Promise<{ ms: number; failed: boolean }> {
  return new Promise((resolve) => {
    const started = performance.now();
    http
      .get(`${url}/healthz`, { agent }, (res) => {
        res.resume();
        res.on("end", () => resolve({ ms: performance.now() - started, failed: false }));
      })
      .on("error", () => resolve({ ms: performance.now() - started, failed: true }));
  });
}

/** Probe latencies (a failed probe counts with the time it took to fail) and the failures. */
async function probe(url: string, until: () => boolean): Promise<{ latencies: number[]; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  while (!until()) {
    const { ms, failed } = await healthz(url);
    latencies.push(ms);
    if (failed) errors++;
    await new Promise((r) => setTimeout(r, 10));
  }
  return { latencies, errors };
}

const props = (n: number, schema: object = { type: "string" }) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, schema]));

function schemas(): Array<[string, object]> {
  return [
    ["50 000 properties", { type: "object", properties: props(50_000) }],
    ["200 000 properties", { type: "object", properties: props(200_000) }],
    ["allOf with 20 000 entries", { allOf: Array.from({ length: 20_000 }, (_, i) => ({ minimum: i })) }],
    ["1 000 $refs to a 4 000-property definition (within the default limits)", { $defs: { big: { properties: props(4_000, { type: "string", minLength: 1 }) } }, allOf: Array.from({ length: 1_000 }, () => ({ $ref: "#/$defs/big" })) }],
  ];
}

async function publish(server: SpawnedServer, name: string, schema: object): Promise<{ status: number; failure?: string; ms: number; bytes: number }> {
  const body = JSON.stringify({ content: { schema } });
  const started = performance.now();
  try {
    const res = await fetch(`${server.url}/v1/projects/bench/artifacts/contract/${name}`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(600_000),
    });
    await res.text();
    return { status: res.status, ms: performance.now() - started, bytes: Buffer.byteLength(body) };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { status: 0, failure: cause?.code ?? cause?.message ?? String(err), ms: performance.now() - started, bytes: Buffer.byteLength(body) };
  }
}

export async function benchSchemaStall(options: { log(line: string): void; caseTimeoutMs?: number }): Promise<StallResult> {
  const dir = await mkdtemp(path.join(tmpdir(), "pinset-bench-schema-"));
  let server: SpawnedServer | undefined;
  try {
    server = await spawnServer({ PINSET_DATA_DIR: dir, PINSET_ADMIN_TOKEN: TOKEN, PINSET_RATE_LIMIT_RPS: "0", LOG_LEVEL: "warn" });
    const url = server.url;
    await fetch(`${url}/v1/projects/bench`, { method: "PUT", headers: { authorization: `Bearer ${TOKEN}` } });
    // Warm: a small contract (loads the compiler), and the probe path.
    await publish(server, "warm", { type: "object", properties: props(10) });
    const idleUntil = Date.now() + 3_000;
    const idle = summarize((await probe(url, () => Date.now() > idleUntil)).latencies);
    const cases: StallCase[] = [];
    for (const [i, [name, schema]] of schemas().entries()) {
      options.log(`schema stall: ${name}`);
      let done = false;
      const answer = publish(server, `case-${i}`, schema).finally(() => (done = true));
      const { latencies, errors } = await probe(url, () => done);
      const { status, failure, ms, bytes } = await answer;
      cases.push({ name, bytes, status, ...(failure ? { failure } : {}), answerMs: ms, healthz: summarize(latencies), probeErrors: errors });
      if (server.child.exitCode !== null) {
        options.log(`the registry exited (${server.child.exitCode}): ${server.stderr().slice(-500)}`);
        break;
      }
    }
    return { idle, cases };
  } finally {
    agent.destroy();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
