import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "../src/client/api-types.js";
import { session } from "./session.js";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];

/** An API answer that was not 2xx, as its problem+json (or what we could make of it). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail);
  }
}

/** Every request carries the session's token in a header, never in a URL. */
const auth: Middleware = {
  onRequest({ request }) {
    const token = session.token();
    if (token) request.headers.set("authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    // The token expired or was revoked mid-session: back to sign-in, on the same URL.
    if (response.status === 401 && session.token()) session.end("Your session ended: the token expired or was revoked. Sign in again to continue on this page.");
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: location.origin });
api.use(auth);

/** Turns an openapi-fetch answer into its data, or throws ApiError with the problem. */
export async function ok<T>(pending: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await pending;
  if (response.ok && data !== undefined) return data;
  if (response.ok) return undefined as T;
  throw new ApiError(response.status, asProblem(error, response));
}

function asProblem(body: unknown, response: Response): Problem {
  const p = body as Partial<Problem> | undefined;
  if (p && typeof p === "object" && typeof p.title === "string") {
    return {
      type: p.type ?? "about:blank",
      title: p.title,
      status: p.status ?? response.status,
      detail: p.detail ?? "",
      code: p.code ?? "unknown",
      trace_id: p.trace_id ?? response.headers.get("x-trace-id") ?? "",
      ...(p.errors ? { errors: p.errors } : {}),
    };
  }
  return {
    type: "about:blank",
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
    detail: typeof body === "string" ? body.slice(0, 500) : "The server answered without a problem document.",
    code: "unknown",
    trace_id: response.headers.get("x-trace-id") ?? "",
  };
}

/** Every page of a paged list (the console's lists are small; stops at `max` items). */
export async function allPages<T>(page: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor: string | null }>, max = 2000): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const got = await page(cursor);
    items.push(...got.items);
    cursor = got.next_cursor ?? undefined;
  } while (cursor && items.length < max);
  return items;
}
