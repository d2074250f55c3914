import type { RetiredPin } from "../artifacts/retired.js";
import { compareCodeUnits } from "../core/compare.js";
import type { Tx } from "../core/transaction.js";
import type { PinnableArtifacts, VersionSetStore } from "./ports.js";

/**
 * Inside a transaction that makes `sets` reachable (deploy, rollback, a rollout's candidate):
 * share-locks the index versions they pin and returns those garbage collection retired, once
 * per set that pins them. A collection retires a version only under an update lock on its row
 * and re-reads what is reachable after taking it, so either it sees this transaction's change
 * (and keeps the version) or this transaction waits for the retirement and sees it.
 *
 * Only index versions are ever retired (their blobs are what collection frees), so only they
 * are locked. The sets' rows need no lock: a set never changes once created.
 */
export async function retiredPinsOf(
  tx: Tx,
  stores: { sets: Pick<VersionSetStore, "findMany">; artifacts: Pick<PinnableArtifacts, "holdVersions"> },
  project: string,
  sets: readonly string[],
): Promise<RetiredPin[]> {
  if (sets.length === 0) return [];
  const rows = await stores.sets.findMany(project, [...new Set(sets)], tx);
  const pinnedBy = new Map<string, { kind: string; name: string; version: number; sets: string[] }>();
  for (const row of rows) {
    for (const pin of Object.values(row.components)) {
      if (pin.kind !== "index") continue;
      const key = `${pin.name}@${pin.version}`;
      const entry = pinnedBy.get(key) ?? { kind: pin.kind, name: pin.name, version: pin.version, sets: [] };
      if (!entry.sets.includes(row.id)) entry.sets.push(row.id);
      pinnedBy.set(key, entry);
    }
  }
  if (pinnedBy.size === 0) return [];
  const held = await stores.artifacts.holdVersions(tx, project, [...pinnedBy.values()]);
  const retired: RetiredPin[] = [];
  // In (name, version) order, as the message lists them.
  const order = held.filter((v) => v.retired).sort((a, b) => compareCodeUnits(a.name, b.name) || a.version - b.version);
  for (const version of order) {
    for (const set of pinnedBy.get(`${version.name}@${version.version}`)!.sets) retired.push({ set, kind: version.kind, name: version.name, version: version.version });
  }
  return retired;
}
