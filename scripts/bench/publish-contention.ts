import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { spawnServer, type SpawnedServer } from "../../test/support/spawn-server.js";
import { createBenchDatabase, TOKEN } from "./cluster.js";

/**
 * Publishes from 8 concurrent writers against one registry process on Postgres: all to ONE
 * artifact name (they queue on the name's lock), beside the same count spread over 8 names (one
 * per writer: no queueing), in the same run. A writer retries an answer of 409 or 503 (after
 * its retry-after, else 20 ms) and counts it; anything else stops the bench.
 */
export interface ContentionPhase {
  publishes: number;
  seconds: number;
  perSecond: number;
  retries: number;
  /** Versions of the one-name phase: 1..n without a gap or a repeat. */
  consecutive?: boolean;
}

export interface ContentionResult {
  writers: number;
  oneName: ContentionPhase;
  eightNames: ContentionPhase;
}

async function publishWithRetries(server: SpawnedServer, name: string, values: Record<string, unknown>): Promise<{ retries: number; version: number }> {
  for (let retries = 0; ; retries++) {
    const res = await fetch(`${server.url}/v1/projects/bench/artifacts/config/${name}`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ content: { values } }),
    });
    const text = await res.text();
    if (res.status === 201) return { retries, version: (JSON.parse(text) as { version: number }).version };
    if (res.status !== 409 && res.status !== 503) throw new Error(`publish answered ${res.status}: ${text}`);
    const after = Number(res.headers.get("retry-after"));
    await new Promise((r) => setTimeout(r, Number.isFinite(after) && after > 0 ? after * 1000 : 20));
  }
}

async function phase(server: SpawnedServer, options: { total: number; writers: number; nameOf: (writer: number) => string; tag: string }): Promise<ContentionPhase & { versions: number[] }> {
  const perWriter = Math.ceil(options.total / options.writers);
  let retries = 0;
  const versions: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.writers }, async (_, w) => {
      for (let i = 0; i < perWriter; i++) {
        const r = await publishWithRetries(server, options.nameOf(w), { tag: options.tag, writer: w, i });
        retries += r.retries;
        versions.push(r.version);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const publishes = perWriter * options.writers;
  return { publishes, seconds, perSecond: publishes / seconds, retries, versions };
}

export async function benchPublishContention(adminUrl: string, options: { total: number; writers?: number; log(line: string): void }): Promise<ContentionResult> {
  const writers = options.writers ?? 8;
  const database = await createBenchDatabase(adminUrl);
  const dir = await mkdtemp(path.join(tmpdir(), "pinset-bench-"));
  let server: SpawnedServer | undefined;
  try {
    server = await spawnServer({ DATABASE_URL: database.url, PINSET_DATA_DIR: dir, PINSET_ADMIN_TOKEN: TOKEN, PINSET_RATE_LIMIT_RPS: "0", LOG_LEVEL: "warn" });
    const created = await fetch(`${server.url}/v1/projects/bench`, { method: "PUT", headers: { authorization: `Bearer ${TOKEN}` } });
    if (created.status !== 201) throw new Error(`creating the project answered ${created.status}`);
    // Warm-up (connections, JIT), not measured.
    await phase(server, { total: writers * 10, writers, nameOf: (w) => `warm-${w}`, tag: "warm" });
    options.log(`publish contention: ${options.total} publishes from ${writers} writers to one name`);
    const one = await phase(server, { total: options.total, writers, nameOf: () => "one", tag: "one" });
    const sorted = [...one.versions].sort((a, b) => a - b);
    const consecutive = sorted.every((v, i) => v === i + 1);
    options.log(`publish contention: ${options.total} publishes from ${writers} writers to ${writers} names`);
    const eight = await phase(server, { total: options.total, writers, nameOf: (w) => `own-${w}`, tag: "eight" });
    const strip = ({ versions: _v, ...rest }: ContentionPhase & { versions: number[] }): ContentionPhase => rest;
    return { writers, oneName: { ...strip(one), consecutive }, eightNames: strip(eight) };
  } finally {
    await server?.stop();
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  }
}
