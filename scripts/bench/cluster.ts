import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { spawnServer, type SpawnedServer } from "../../test/support/spawn-server.js";

/**
 * Two registry processes (`src/main.ts`, as `npm start` runs it) on one Postgres database the
 * bench creates and drops, each with its own data directory. A and B only share the database:
 * whatever B learns about A's changes it learns through Postgres.
 */
export const TOKEN = "bench-admin-token-0123456789abcdef";
/**
 * The registry logs as a user runs it: LOG_LEVEL's default (`info`), to stdout, which the bench
 * reads. Rate limits are off: the load would otherwise be throttled to PINSET_RATE_LIMIT_RPS.
 * So are the per-token and per-address watch caps: the bench's thousands of watchers share one
 * token and one address (the instance's cap, from its open-file limit, still applies).
 */
export const SERVER_LOG_LEVEL = "info";
export const PROJECT = "bench";

export interface Cluster {
  a: SpawnedServer;
  b: SpawnedServer;
  databaseUrl: string;
  /** The set ids created by `seed`, all of project bench. */
  sets: string[];
  close(): Promise<void>;
}

export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

export async function api(server: SpawnedServer, method: string, pathname: string, body?: unknown): Promise<Response> {
  const res = await fetch(`${server.url}${pathname}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status >= 300 && res.status !== 304) throw new Error(`${method} ${pathname} answered ${res.status}: ${await res.text()}`);
  return res;
}

/** A database of its own for one bench part: `<prefix>_<random>`, created now; `drop` ends its connections too. */
export async function createBenchDatabase(adminUrl: string, prefix = "pinset_bench"): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function startCluster(adminUrl: string): Promise<Cluster> {
  const database = await createBenchDatabase(adminUrl);
  const databaseUrl = database.url;
  const dir = await mkdtemp(path.join(tmpdir(), "pinset-bench-"));
  const servers: SpawnedServer[] = [];
  const close = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const env = (id: string) => ({ DATABASE_URL: databaseUrl, PINSET_DATA_DIR: path.join(dir, id), PINSET_ADMIN_TOKEN: TOKEN, PINSET_RATE_LIMIT_RPS: "0", PINSET_WATCH_MAX_PER_TOKEN: "0", PINSET_WATCH_MAX_PER_ADDRESS: "0", LOG_LEVEL: SERVER_LOG_LEVEL });
    // One after the other: both would run the migrations, and the first start is the slow one.
    servers.push(await spawnServer(env("a")));
    servers.push(await spawnServer(env("b")));
    return { a: servers[0]!, b: servers[1]!, databaseUrl, sets: [], close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * `count` distinct version sets, each a realistic bundle of a few KiB: a prompt of ~3 KiB, a
 * model, a contract and a config (which differs per set, so every set is its own bundle).
 */
export async function seedSets(cluster: Cluster, count: number): Promise<string[]> {
  const { a } = cluster;
  await api(a, "PUT", `/v1/projects/${PROJECT}`);
  const para = "You answer questions about the user's orders. Cite the order id. Never invent tracking numbers. ";
  await api(a, "POST", `/v1/projects/${PROJECT}/artifacts/prompt/system`, { content: { template: `${para.repeat(30)}\nQuestion: {{question}}`, variables: ["question"] } });
  await api(a, "POST", `/v1/projects/${PROJECT}/artifacts/model/chat`, { content: { provider: "openai", model: "gpt-4o-mini", revision: "2024-07-18", params: { temperature: 0.2, max_tokens: 800 } } });
  await api(a, "POST", `/v1/projects/${PROJECT}/artifacts/contract/answer`, {
    content: { schema: { type: "object", required: ["answer", "order_id"], properties: { answer: { type: "string" }, order_id: { type: "string" } } } },
  });
  const sets: string[] = [];
  for (let i = 0; i < count; i++) {
    const published = (await (await api(a, "POST", `/v1/projects/${PROJECT}/artifacts/config/app`, { content: { values: { build: i, retries: 3 } } })).json()) as { version: number };
    const created = await api(a, "POST", `/v1/projects/${PROJECT}/version-sets`, {
      components: { "prompt.system": "prompt/system@1", model: "model/chat@1", contract: "contract/answer@1", config: `config/app@${published.version}` },
    });
    sets.push(((await created.json()) as { id: string }).id);
  }
  cluster.sets.push(...sets);
  return sets;
}

/** Creates the environment and deploys `set`; returns the revision. */
export async function createEnvironment(cluster: Cluster, env: string, set: string): Promise<number> {
  await api(cluster.a, "PUT", `/v1/projects/${PROJECT}/environments/${env}`);
  return deploy(cluster.a, env, set);
}

export async function deploy(server: SpawnedServer, env: string, set: string): Promise<number> {
  const res = await api(server, "POST", `/v1/projects/${PROJECT}/environments/${env}/deploy`, { version_set: set });
  return ((await res.json()) as { revision: number }).revision;
}

export function envPath(env: string, suffix = ""): string {
  return `/v1/projects/${PROJECT}/environments/${env}${suffix}`;
}
