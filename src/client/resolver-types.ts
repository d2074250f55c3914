/** The resolver's public types: options, what it holds (a snapshot), listeners, and the one error it rejects with. */
import type { Assignment, Bundle, ResolverFetch } from "./resolve-request.js";

export interface ResolverLogger {
  debug?(message: string, detail?: Record<string, unknown>): void;
  warn(message: string, detail?: Record<string, unknown>): void;
}

export interface ResolverOptions {
  /** The registry's base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** A token with `read` on the project and environment. */
  token?: string;
  project: string;
  environment: string;
  /** Who is asking (user, tenant, request key): during a rollout, the set this subject is assigned. */
  subject?: string;
  /** Last-known-good file: written atomically (mode 0600) on every new bundle, read at start when the registry is away. */
  cacheFile?: string;
  /** `auto` (default): watch, falling back to etag polling when the stream is unavailable. `poll`: poll only. */
  transport?: "auto" | "poll";
  /** How often to poll in polling mode (default 5 s). */
  pollIntervalMs?: number;
  /** Reconnect backoff: first delay (default 500 ms) and cap (default 30 s), with jitter. */
  retry?: { initialDelayMs?: number; maxDelayMs?: number };
  /** A watch stream silent this long is reconnected (default 45 s; the registry pings every 15 s). */
  idleTimeoutMs?: number;
  /** Each resolve request gives up after this long (default 10 s). */
  requestTimeoutMs?: number;
  fetch?: ResolverFetch;
  logger?: ResolverLogger;
}

/** What the resolver holds: the bundle and where it came from. */
export interface ResolverSnapshot {
  /** The parsed bundle (deeply frozen: the same object until the next change). */
  bundle: Bundle;
  versionSet: string;
  etag: string;
  /** `stable` / `candidate` during a rollout when resolving for a subject; else null. */
  assignment: Assignment | null;
  /** `cache-file` until the registry has confirmed or replaced the bundle read at start. */
  source: "registry" | "cache-file";
  /** True while the bundle is not known to be current; see docs/sdk.md. */
  stale: boolean;
  receivedAt: Date;
}

export type ChangeListener = (next: ResolverSnapshot, previous: ResolverSnapshot) => void;
export type ErrorListener = (error: Error) => void;

/** The resolver could not get a first bundle: no registry answer and no usable cache file. */
export class ResolverStartError extends Error {
  override readonly name = "ResolverStartError";
}
