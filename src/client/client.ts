import createFetchClient, { type Client, type Middleware } from "openapi-fetch";
import type { paths } from "./api-types.js";
import { PinsetApiError, RegistryUnreachableError } from "./errors.js";

export interface ClientOptions {
  /** The registry's base URL, e.g. `http://127.0.0.1:8080` (no `/v1`). */
  url: string;
  /** Sent as `Authorization: Bearer <token>`; omit for the unauthenticated service endpoints. */
  token?: string | undefined;
  /** A fetch implementation (tests, proxies); defaults to the global one. */
  fetch?: (input: Request) => Promise<Response>;
  /** Extra headers for every request (e.g. `user-agent`, `x-trace-id`). */
  headers?: Record<string, string>;
}

/** The typed client: `client.GET("/v1/projects/{project}/…", { params: { path: {…} } })`. */
export type PinsetClient = Client<paths> & {
  /** The base URL the client talks to, without a trailing slash. */
  readonly url: string;
};

/**
 * Turns network failures (connection refused, DNS, reset) into one error that names the URL,
 * so callers can tell "the registry is away" from "the registry said no".
 */
function unreachableMiddleware(url: string): Middleware {
  return {
    onError({ error }) {
      if (error instanceof Error && error.name === "AbortError") return error;
      return new RegistryUnreachableError(url, error);
    },
  };
}

export function createClient(options: ClientOptions): PinsetClient {
  const url = options.url.replace(/\/+$/, "");
  if (!/^https?:\/\//i.test(url)) throw new TypeError(`The registry URL must start with http:// or https:// (got "${options.url}")`);
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const client = createFetchClient<paths>({
    baseUrl: url,
    headers,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  client.use(unreachableMiddleware(url));
  return Object.assign(client, { url });
}

/** What every openapi-fetch call returns. */
export interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/**
 * Returns the answer's data, or throws `PinsetApiError` with the problem's code, detail and
 * trace id when the registry answered with an error status.
 */
export async function unwrap<T>(call: Promise<FetchResult<T>> | FetchResult<T>): Promise<T> {
  const result = await call;
  if (!result.response.ok) throw PinsetApiError.fromResponse(result.response, result.error);
  return result.data as T;
}
