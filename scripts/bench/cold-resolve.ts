import type { SpawnedServer } from "../../test/support/spawn-server.js";
import { deploy, envPath, TOKEN } from "./cluster.js";
import { nowMs, summarize, type Summary } from "./stats.js";

export interface ColdResolveResult {
  /** First resolve after deploying a set never resolved before: pointer read + bundle built from the database. */
  newSet: Summary;
  /** First resolve after switching back to a set already served: pointer read, bundle from memory. */
  knownSet: Summary;
  /** The resolve right after each of those: hot, from memory (the baseline). */
  hot: Summary;
}

async function timedResolve(server: SpawnedServer, env: string, expected: string): Promise<number> {
  const started = nowMs();
  const res = await fetch(`${server.url}${envPath(env, "/resolve")}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  await res.arrayBuffer();
  const elapsed = nowMs() - started;
  const got = res.headers.get("x-pinset-version-set");
  if (res.status !== 200 || got !== expected) throw new Error(`resolve answered ${res.status} ${got}, expected ${expected} (a stale read on the deploying instance)`);
  return elapsed;
}

/**
 * Cold resolve on the instance that made the change (its cache was invalidated by the deploy):
 * each sample deploys, then times the first resolve, then a second one (hot) as the baseline.
 */
export async function benchColdResolve(server: SpawnedServer, env: string, options: { freshSets: string[]; knownSets: [string, string] }): Promise<ColdResolveResult> {
  const newSet: number[] = [];
  const knownSet: number[] = [];
  const hot: number[] = [];
  for (const set of options.knownSets) {
    await deploy(server, env, set);
    await timedResolve(server, env, set);
  }
  for (const [i, set] of options.freshSets.entries()) {
    await deploy(server, env, set);
    newSet.push(await timedResolve(server, env, set));
    hot.push(await timedResolve(server, env, set));
    const known = options.knownSets[i % 2]!;
    await deploy(server, env, known);
    knownSet.push(await timedResolve(server, env, known));
    hot.push(await timedResolve(server, env, known));
  }
  return { newSet: summarize(newSet), knownSet: summarize(knownSet), hot: summarize(hot) };
}
