import type { EnvironmentKey } from "../core/environment-key.js";
import type { Tx } from "../core/transaction.js";
import type { EnvironmentStore } from "./ports.js";

/**
 * Which set a rollback without `to` switches to.
 *
 * Rule: the most recent set that was active before the current one and that was not itself
 * rolled back away from. Walking the history newest first, every `rollback` entry marks the set
 * it replaced (`previous`) as rolled back; the first `version_set` that is neither the current
 * active set nor marked is the target. So after deploying A, B, C:
 *   rollback → B, rollback again → A (not C: C was rolled back away from), a third → none (409).
 * A later deploy clears nothing: marks only apply to entries older than the rollback that made
 * them, so redeploying C after rolling it back makes C eligible again for rollbacks from a
 * newer set. `rollback` with an explicit `to` counts as a rollback too: the set it left is
 * marked. A step that kept the active set (rollout steps, a redeploy, `to` = current) marks
 * nothing.
 */
export interface HistoryStep {
  action: string;
  version_set: string | null;
  previous: string | null;
}

export class RollbackSearch {
  private readonly skipped = new Set<string>();

  constructor(private readonly current: string | null) {
    if (current !== null) this.skipped.add(current);
  }

  /** Feeds one history entry, newest first; returns the target once found. */
  visit(step: HistoryStep): string | undefined {
    const candidate = step.version_set;
    if (candidate !== null && !this.skipped.has(candidate)) return candidate;
    if (step.action === "rollback" && step.previous !== null && step.previous !== step.version_set) {
      this.skipped.add(step.previous);
    }
    return undefined;
  }
}

/** The whole walk over an in-memory history (newest first); undefined when there is none. */
export function rollbackTarget(current: string | null, newestFirst: Iterable<HistoryStep>): string | undefined {
  const search = new RollbackSearch(current);
  for (const step of newestFirst) {
    const found = search.visit(step);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** History pages read while searching for a rollback target. */
const ROLLBACK_PAGE = 200;

/**
 * The walk over the stored history, a page at a time (in the caller's transaction when given:
 * a rollback reads the history under the row lock it holds).
 */
export async function findRollbackTarget(
  store: Pick<EnvironmentStore, "history">,
  key: EnvironmentKey,
  current: string | null,
  tx?: Tx,
): Promise<string | undefined> {
  const search = new RollbackSearch(current);
  let before: number | undefined;
  for (;;) {
    const rows = await store.history(key, { ...(before !== undefined ? { before } : {}), limit: ROLLBACK_PAGE }, tx);
    for (const row of rows) {
      const found = search.visit(row);
      if (found !== undefined) return found;
    }
    if (rows.length < ROLLBACK_PAGE) return undefined;
    before = rows[rows.length - 1]!.revision;
  }
}
