import type { components } from "./api-types.js";
import { PinsetApiError, RegistryUnreachableError } from "./errors.js";

export type Bundle = components["schemas"]["Bundle"];
export type Assignment = "stable" | "candidate";

/** A fetch the resolver can use: the global one, or a stand-in (tests, proxies, instrumentation). */
export type ResolverFetch = (url: string, init: RequestInit) => Promise<Response>;

/** What the resolver's HTTP calls share: where the environment is and how to ask. */
export interface Endpoint {
  fetch: ResolverFetch;
  /** …/v1/projects/{p}/environments/{env} */
  base: string;
  subject: string | undefined;
  headers: Record<string, string>;
  /** Each resolve gives up after this long (a black-holed registry must not hang the resolver). */
  timeoutMs: number;
}

export type ResolveAnswer =
  | { status: 200; bundle: Bundle; versionSet: string; etag: string; assignment: Assignment | null; stale: boolean }
  | { status: 304; stale: boolean; assignment: Assignment | null };

export function environmentBase(url: string, project: string, environment: string): string {
  return `${url.replace(/\/+$/, "")}/v1/projects/${encodeURIComponent(project)}/environments/${encodeURIComponent(environment)}`;
}

function assignmentOf(response: Response): Assignment | null {
  const value = response.headers.get("x-pinset-assignment");
  return value === "stable" || value === "candidate" ? value : null;
}

/**
 * `GET …/resolve` (with `subject`, and `if-none-match` when an etag is known). Throws
 * RegistryUnreachableError when nothing answered (refused, reset, timed out) and PinsetApiError
 * for an error status; the caller decides what is fatal.
 */
export async function requestResolve(endpoint: Endpoint, options: { etag?: string | undefined; signal: AbortSignal }): Promise<ResolveAnswer> {
  const query = endpoint.subject !== undefined ? `?subject=${encodeURIComponent(endpoint.subject)}` : "";
  const headers: Record<string, string> = { ...endpoint.headers, accept: "application/json" };
  if (options.etag !== undefined) headers["if-none-match"] = options.etag;
  const signal = AbortSignal.any([options.signal, AbortSignal.timeout(endpoint.timeoutMs)]);
  let response: Response;
  let body: string;
  try {
    response = await endpoint.fetch(`${endpoint.base}/resolve${query}`, { method: "GET", headers, signal });
    body = response.status === 304 ? "" : await response.text();
  } catch (error) {
    if (options.signal.aborted) throw error;
    throw new RegistryUnreachableError(endpoint.base, error);
  }
  const stale = response.headers.get("x-pinset-stale") === "true";
  if (response.status === 304) return { status: 304, stale, assignment: assignmentOf(response) };
  if (response.status !== 200) throw PinsetApiError.fromResponse(response, parseOrText(body));
  let bundle: Bundle;
  try {
    bundle = JSON.parse(body) as Bundle;
  } catch {
    throw new PinsetApiError({ status: 200, code: "invalid_response", detail: "the registry's resolve answer is not JSON" });
  }
  if (typeof bundle !== "object" || bundle === null || typeof bundle.id !== "string") {
    throw new PinsetApiError({ status: 200, code: "invalid_response", detail: "the registry's resolve answer is not a bundle" });
  }
  const versionSet = response.headers.get("x-pinset-version-set") ?? bundle.id;
  return { status: 200, bundle, versionSet, etag: response.headers.get("etag") ?? `"${versionSet}"`, assignment: assignmentOf(response), stale };
}

function parseOrText(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

/**
 * An answer that may well be different on the next try: nothing answered, the registry is busy,
 * restarting or without its database, or something in between (a proxy) answered garbage.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof RegistryUnreachableError) return true;
  if (error instanceof PinsetApiError) return error.status === 408 || error.status === 429 || error.status >= 500 || error.code === "invalid_response";
  return false;
}
