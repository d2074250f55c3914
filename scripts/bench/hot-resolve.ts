import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { freePort, REPO_ROOT } from "../../test/support/spawn-server.js";
import { median } from "./stats.js";

export interface LoadFigures {
  rps: number;
  p99: number;
  p50: number;
}

export interface HotResolveResult {
  bytes: number;
  pinset: LoadFigures;
  /** The target's baseline: a bare express route. */
  bare: LoadFigures;
  ratio: number;
  /** For scale: node:http alone, no framework. */
  node: LoadFigures;
  nodeRatio: number;
  rounds: number;
}

/** Headers a resolve answer carries that a client could depend on; the bare route sends the same. */
const KEPT_HEADERS = ["content-type", "etag", "x-pinset-version-set", "cache-control"];

async function startBare(kind: "express" | "node", body: Buffer, headers: Record<string, string>): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "pinset-bench-bare-"));
  const file = path.join(dir, "body");
  await writeFile(file, body);
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/bench/bare-server.ts"], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", BARE: kind, BODY_FILE: file, HEADERS_JSON: JSON.stringify(headers), PORT: String(port) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => d.toString().includes("listening") && resolve());
    child.once("exit", (code) => reject(new Error(`the bare ${kind} server exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/bundle`,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function load(url: string, headers: Record<string, string>, seconds: number, connections: number): Promise<LoadFigures> {
  const result = await autocannon({ url, connections, duration: seconds, headers });
  if (result.errors > 0 || result.non2xx > 0 || result.timeouts > 0) {
    throw new Error(`${url}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx answers under load`);
  }
  return { rps: result.requests.average, p99: result.latency.p99, p50: result.latency.p50 };
}

/**
 * Hot resolve (the bundle in memory) on the real registry against a bare express route serving
 * the same bytes and headers (the target's baseline), and against node:http alone (for scale).
 * Rounds alternate between the three so that drift of the shared 2-core machine hits all;
 * each round is preceded by a short warm-up; the median round counts.
 */
export async function benchHotResolve(options: { resolveUrl: string; token: string; seconds: number; rounds: number; connections: number }): Promise<HotResolveResult> {
  const auth = { authorization: `Bearer ${options.token}` };
  const first = await fetch(options.resolveUrl, { headers: auth });
  if (first.status !== 200) throw new Error(`resolve answered ${first.status}`);
  const body = Buffer.from(await first.arrayBuffer());
  const headers: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = first.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  const bare = await startBare("express", body, headers);
  const node = await startBare("node", body, headers).catch(async (error: unknown) => {
    await bare.stop();
    throw error;
  });
  try {
    const pinsetRounds: LoadFigures[] = [];
    const bareRounds: LoadFigures[] = [];
    const nodeRounds: LoadFigures[] = [];
    for (let round = 0; round < options.rounds; round++) {
      for (const [url, into] of [[bare.url, bareRounds], [options.resolveUrl, pinsetRounds], [node.url, nodeRounds]] as const) {
        await load(url, auth, 1, options.connections);
        into.push(await load(url, auth, options.seconds, options.connections));
      }
    }
    const pick = (rounds: LoadFigures[]): LoadFigures => ({ rps: median(rounds.map((r) => r.rps)), p99: median(rounds.map((r) => r.p99)), p50: median(rounds.map((r) => r.p50)) });
    const pinset = pick(pinsetRounds);
    const baseline = pick(bareRounds);
    const floor = pick(nodeRounds);
    return { bytes: body.length, pinset, bare: baseline, ratio: pinset.rps / baseline.rps, node: floor, nodeRatio: pinset.rps / floor.rps, rounds: options.rounds };
  } finally {
    await Promise.all([bare.stop(), node.stop()]);
  }
}
