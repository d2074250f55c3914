import type { EnvironmentRecord } from "./ports.js";

/** The environment JSON: GET …/environments/{env}, and the data of every watch event. */
export interface EnvironmentView {
  name: string;
  active: string | null;
  revision: number;
  updated_at: string;
  protected: boolean;
  frozen: boolean;
  /** The set `degrade` switches to; null when none is named. */
  fallback: string | null;
  rollout: object | null;
  created_at: string;
}

/**
 * The one presenter of an environment row. `rollout` is the running or paused rollout's JSON,
 * else null. The change notification (change.ts) is built with it too, so what another
 * instance's watchers get from the notification is what a read would have given them.
 */
export function presentEnvironment(row: EnvironmentRecord, rollout: object | null): EnvironmentView {
  return {
    name: row.name,
    active: row.active,
    revision: row.revision,
    updated_at: row.updated_at.toISOString(),
    protected: row.protected,
    frozen: row.frozen,
    fallback: row.fallback,
    rollout,
    created_at: row.created_at.toISOString(),
  };
}
