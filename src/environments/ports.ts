import type { EnvironmentKey } from "../core/environment-key.js";
import type { Actor } from "../core/actor.js";
import type { Tx } from "../core/transaction.js";

export type { AuditRecorder as EnvironmentAudit } from "../audit/ports.js";
export type { ProjectDirectory } from "../projects/ports.js";

/** One row of the environments table. */
export interface EnvironmentRecord {
  /** Insertion order: the list's newest-first order and its cursor. */
  seq: number;
  project: string;
  name: string;
  active: string | null;
  revision: number;
  protected: boolean;
  frozen: boolean;
  /** The set `degrade` switches to (null: none named). */
  fallback: string | null;
  created_at: Date;
  updated_at: Date;
}

/** One entry of an environment's history: every revision writes one. */
export interface HistoryRecord {
  project: string;
  environment: string;
  revision: number;
  action: string;
  /** The active set after the change, and the one before it. */
  version_set: string | null;
  previous: string | null;
  actor: string;
  actor_token_id: string | null;
  reason: string | null;
  trace_id: string | null;
  /** What the step recorded beyond the pointer (parsed JSON, or null). */
  detail: unknown;
  at: Date;
}

/** The environment as locked by a change (SELECT … FOR UPDATE), before it is applied. */
export interface LockedEnvironment {
  name: string;
  active: string | null;
  revision: number;
  frozen: boolean;
  protected: boolean;
  fallback: string | null;
}

/**
 * A history entry as the history page shows it: the fields clients see (stores return them in
 * the API's order), `at` as ISO 8601 text in UTC with milliseconds (what `Date.toISOString` writes).
 */
export type HistoryPageEntry = Omit<HistoryRecord, "project" | "environment" | "actor_token_id" | "at"> & { at: string };

/** A new revision: the pointer (and frozen flag) it sets, and what its history entry records. */
export interface NewRevision {
  revision: number;
  active: string | null;
  previous: string | null;
  /** Undefined: unchanged. */
  frozen?: boolean;
  action: string;
  actor: string;
  actor_token_id: string | null;
  reason: string | null;
  trace_id: string | null;
  /** Stored as JSON; undefined stores null. */
  detail?: unknown;
}

/**
 * The environments and environment_history tables. The pointer, revision and history are
 * written only through `writeRevision`, under the row lock `lockEnvironment` took in the same
 * transaction (change.ts is the one caller).
 */
export interface EnvironmentStore {
  find(key: EnvironmentKey, tx?: Tx): Promise<EnvironmentRecord | undefined>;
  /** The resolve hot path's only read: the active set and revision. */
  findActive(key: EnvironmentKey): Promise<{ active: string | null; revision: number } | undefined>;
  environmentExists(key: EnvironmentKey, tx?: Tx): Promise<boolean>;
  /** Newest first; `names` restricts to the environments a token may see ("*" for all). */
  list(project: string, options: { names: "*" | readonly string[]; before?: number; limit: number }): Promise<EnvironmentRecord[]>;

  /** Inserts unless the environment exists: the new row, or undefined when it existed. */
  insertIfAbsent(tx: Tx, key: EnvironmentKey, isProtected: boolean): Promise<EnvironmentRecord | undefined>;
  /** Sets the flag; returns the row only when the value actually changed. */
  setProtected(tx: Tx, key: EnvironmentKey, isProtected: boolean): Promise<EnvironmentRecord | undefined>;
  setFallback(tx: Tx, key: EnvironmentKey, fallback: string | null): Promise<void>;

  /**
   * Locks the environment row for the rest of the transaction (undefined: no such environment).
   * Every change, rollout step and observation takes this lock first, so they are serialized
   * per environment, on any instance.
   */
  lockEnvironment(tx: Tx, key: EnvironmentKey): Promise<LockedEnvironment | undefined>;
  /**
   * Applies a revision to the locked row (pointer, revision, `updated_at` = now) and appends its
   * history entry, whose `at` is that very `updated_at` (a watch replay rebuilds the
   * environment's `updated_at` from it). Returns the row after the change.
   */
  writeRevision(tx: Tx, key: EnvironmentKey, change: NewRevision): Promise<EnvironmentRecord>;
  /** Announces a committed change to every instance (NOTIFY on the change channel, delivered at commit). */
  announce(tx: Tx, payload: string): Promise<void>;

  /** Newest first; `before` is a revision (the cursor). */
  history(key: EnvironmentKey, options: { before?: number; limit: number }, tx?: Tx): Promise<HistoryRecord[]>;
  /**
   * `history` as the history page shows it, newest first (the store writes `at` as text: the
   * page is read on every call of `GET …/history`, and a Date made only to be written out again
   * cost more than the read).
   */
  historyPage(key: EnvironmentKey, options: { before?: number; limit: number }): Promise<HistoryPageEntry[]>;
  /** Up to `limit` entries after revision `after`, oldest first (watch replays). */
  historyAfter(key: EnvironmentKey, after: number, limit: number): Promise<HistoryRecord[]>;
  /** The newest entry at or before revision `atOrBefore` whose action is one of `actions`. */
  lastOf(key: EnvironmentKey, atOrBefore: number, actions: readonly string[]): Promise<HistoryRecord | undefined>;
  /**
   * The entry in force at `at`: the newest one written no later than `at`, compared at
   * millisecond precision (the precision of the `at` values the API shows), so asking for an
   * entry's own `at` returns that entry; revision breaks a tie.
   */
  entryAt(key: EnvironmentKey, at: Date): Promise<HistoryRecord | undefined>;
  /** The percent a rollout set at each of its steps (its start and advances), oldest first. */
  percentChanges(rollout: RolloutOfEnvironment, tx?: Tx): Promise<Array<{ at: Date; percent: number }>>;
  /** The environment's history entries written by one rollout (detail.rollout = its id), oldest first. */
  historyOf(rollout: RolloutOfEnvironment, tx?: Tx): Promise<HistoryRecord[]>;
}

/** Names a rollout by the environment it runs in. */
export interface RolloutOfEnvironment {
  project: string;
  environment: string;
  id: string;
}

export interface EnvironmentChange {
  project: string;
  environment: string;
  /** deploy | rollback | rollout_start | advance | pause | resume | abort | promote | freeze | unfreeze | … */
  action: string;
  /**
   * The new active set; `undefined` keeps the current one (e.g. a rollout step). A function
   * chooses it from the locked row after the frozen and revision checks passed (a rollback's
   * target depends on the state it replaces); it runs in the same transaction and may throw.
   */
  active?: string | null | ((current: LockedEnvironment) => Promise<string | null>);
  /**
   * Who may make this change, judged on the locked row before anything else (so a concurrent
   * `protected: true` cannot slip between check and write): deploy and rollback pass
   * `requireDeployAccess` here. Throws to refuse.
   */
  authorize?: (current: LockedEnvironment) => void;
  /** Compare-and-swap: the change applies only when the environment is at this revision (undefined: any). */
  expectedRevision?: number;
  /** Refuse the change with 423 while the environment is frozen. */
  refuseWhenFrozen?: boolean;
  frozen?: boolean;
  /**
   * The environment's `rollout` field once this change commits, when the caller knows it
   * (deploy and rollback: null, since they are refused while a rollout runs or is paused). The
   * notification then carries the whole environment JSON (`state`), so the other instances'
   * watchers get the change without reading it back.
   */
  rolloutAfter?: object | null;
  reason?: string | null;
  /** The history entry's detail; a function is called after `active` chose the set (a deploy's acknowledged incident). */
  detail?: unknown;
  /**
   * Sets this change makes reachable besides the new active one (a rollout's candidate): like
   * the new active set, they must not pin a version retired by garbage collection (410).
   */
  pins?: string[];
}

export interface AppliedChange {
  project: string;
  environment: string;
  revision: number;
  active: string | null;
  previous: string | null;
  action: string;
}

/**
 * The one way an environment changes (change.ts `EnvironmentChanger`): rollouts make their steps
 * with it, inside their own transaction, so the step's rows commit with the revision.
 */
export interface EnvironmentChanges {
  apply(tx: Tx, actor: Actor, change: EnvironmentChange): Promise<AppliedChange>;
}

/**
 * From the artifacts domain: inside a transaction that makes sets reachable, refuses (410) a
 * set pinning a version retired by garbage collection, and keeps one from being retired until
 * the transaction ends (artifacts/retired.ts).
 */
export interface LiveSetsGuard {
  assertSetsLive(tx: Tx, project: string, sets: string[]): Promise<void>;
}

/** From the webhooks domain: the `environment.changed` deliveries, written in the change's transaction. */
export interface EnvironmentEventOutbox {
  enqueue(tx: Tx, input: { project: string; event: "environment.changed"; data: unknown }): Promise<unknown>;
}

/** What environments need from version sets (VersionSetService satisfies it). */
export interface VersionSetReader {
  find(project: string, id: string): Promise<{ id: string } | undefined>;
  /**
   * The bundle serialized once and cached by set id (sets are immutable); `bytes`, when given,
   * is that JSON already encoded, shared by every answer.
   */
  bundleBytes(project: string, id: string): Promise<{ json: string; bytes?: Buffer; etag: string }>;
  /** `bundleBytes`' encoded bytes when the bundle cache already holds them, without waiting: the fast lane's read. */
  peekBundleBytes?(project: string, id: string): Buffer | undefined;
}

/**
 * Whether a version set exists, read in the caller's transaction (naming a fallback holds the
 * environment's row lock; on PGlite a read outside the transaction would wait for it to end).
 */
export interface VersionSetExistence {
  versionSetExists(tx: Tx, project: string, id: string): Promise<boolean>;
}

/**
 * Filled in by the rollouts engine. `rolloutOf` gives the `rollout` field of an environment;
 * `assign` picks the set for a subject during a rollout (undefined: no rollout, serve stable).
 */
export interface RolloutHooks {
  rolloutOf(project: string, environment: string): Promise<object | null>;
  assign?(project: string, environment: string, subject: string): Promise<{ versionSet: string; assignment: "stable" | "candidate" } | undefined>;
  /**
   * `assign` from memory alone, without waiting: null when the rollout cache trusts that there
   * is no rollout, undefined when it does not know (then `assign` reads the database).
   */
  peekAssign?(project: string, environment: string, subject: string): { versionSet: string; assignment: "stable" | "candidate" } | null | undefined;
  /**
   * Refuses a deploy or rollback (409) while a rollout is running or paused. Called in the
   * switch's transaction after the change locked the row, so a rollout starting concurrently
   * either committed before (and is seen) or waits for this transaction.
   */
  assertSwitchAllowed?(tx: Tx, key: EnvironmentKey, action: "deploy" | "rollback"): Promise<void>;
  /** Degrade aborts a running or paused rollout in its own transaction; `after` runs once it committed. */
  abortLive?(tx: Tx, actor: Actor, key: EnvironmentKey, reason: string | null): Promise<{ id: string; after: () => Promise<void> } | undefined>;
}

/** The fields of a rollout that never change after it starts (a watch replay rebuilds past rollout JSON from them). */
export interface RolloutFixedFields {
  id: string;
  environment: string;
  stable: string;
  candidate: string;
  allow: string[];
  auto: boolean;
  created_at: Date;
}

/** From the rollouts domain: the fixed fields of some rollouts of a project (unknown ids are left out). */
export interface PastRolloutReader {
  fixedOf(project: string, ids: string[]): Promise<RolloutFixedFields[]>;
}

/** Set by the incidents domain at composition; every hook runs in the change's transaction. */
export interface EnvironmentIncidentHooks {
  /** While an incident is open: 409 incident_open unless acknowledged; returns the acknowledged incident. */
  guard(tx: Tx, actor: Actor, key: EnvironmentKey, change: { what: string; target: string | null; acknowledge?: string | undefined }): Promise<string | null>;
  onRolledBack(tx: Tx, actor: Actor, key: EnvironmentKey, applied: AppliedChange): Promise<void>;
  /** Opens or links an incident for a degrade. */
  onDegraded(tx: Tx, actor: Actor, key: EnvironmentKey, change: { applied: AppliedChange; rollout: string | null; reason: string | null }): Promise<{ incident: string } | void>;
}
