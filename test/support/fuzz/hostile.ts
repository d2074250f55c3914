/**
 * fast-check arbitraries for hostile HTTP requests: path segments, query strings, headers and
 * bodies that a careless handler would turn into a 500, a stack trace, a write, a fetch or a
 * polluted prototype. Every request is built from the route registry, so new routes are fuzzed
 * as soon as they are mounted.
 */
import fc from "fast-check";
import type { RouteSpec } from "../../../src/http/routes.js";
import { body, rawBodies, shapeOf, type BodyShape } from "./hostile-bodies.js";
import { headerSafe, hostileText, pct, RAW_SEGMENTS, type FuzzContext } from "./hostile-values.js";
import type { RawRequest } from "./raw-http.js";

export { deepSchemaJson, type FuzzContext } from "./hostile-values.js";

function segment(ctx: FuzzContext, param: string): fc.Arbitrary<string> {
  const valid = ctx.samples[param] ?? ["x"];
  return fc.oneof(
    { weight: 14, arbitrary: fc.constantFrom(...valid).map(pct) },
    { weight: 1, arbitrary: hostileText.map(pct) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
  );
}

/** The path, and the (encoded) parameter values it was built from. */
function routePath(ctx: FuzzContext, route: RouteSpec): fc.Arbitrary<{ p: string; params: Record<string, string> }> {
  const names = [...route.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
  return fc.tuple(fc.tuple(...names.map((n) => segment(ctx, n))), fc.oneof({ weight: 12, arbitrary: fc.constant("") }, { weight: 1, arbitrary: fc.constantFrom("/", "/extra", "/..", "%2F..") })).map(([values, suffix]) => {
    let i = 0;
    const params = Object.fromEntries(names.map((n, j) => [n, values[j]!]));
    return { p: `/v1${route.path.replace(/:([A-Za-z0-9_]+)/g, () => values[i++]!)}${suffix}`, params };
  });
}

const QUERY_KEYS = ["limit", "cursor", "action", "since", "until", "at", "subject", "from", "to", "percent", "__proto__[polluted]", "constructor[prototype][polluted]", "a[b][c]", "limit[]", "x"];
const QUERY_VALUES = ["1", "500", "501", "0", "-1", "abc", "eyJwIjoxfQ", "eyJwIjotMX0", "eyJwIjoyMTQ3NDgzNjQ4fQ", "eyJwIjo5MDA3MTk5MjU0NzQwOTkxfQ", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00", "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z"];

/** Cursors as the server writes them, around any position: forged ones must be refused, not crash. */
const forgedCursor = fc
  .oneof(fc.integer(), fc.constantFrom(2 ** 31 - 1, 2 ** 31, 2 ** 53 - 1, -(2 ** 53 - 1), 1.5, 1e300), fc.constant("1"))
  .map((p) => Buffer.from(JSON.stringify({ p })).toString("base64url"));

/** Paging parameters, which every list takes, often; anything else now and then. */
const queryPair = fc.oneof(
  { weight: 2, arbitrary: fc.tuple(fc.constant("cursor"), forgedCursor) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("limit"), fc.oneof(fc.integer().map(String), fc.constantFrom("1", "500", "501", "1e3", "0x10"))) },
  {
    weight: 6,
    arbitrary: fc.tuple(
      fc.oneof(fc.constantFrom(...QUERY_KEYS), hostileText),
      fc.oneof({ weight: 10, arbitrary: fc.oneof(fc.constantFrom(...QUERY_VALUES), hostileText) }, { weight: 1, arbitrary: fc.constant("x".repeat(3_000)) }),
    ),
  },
);

const query = fc
  .array(queryPair, { maxLength: 4 })
  .map((pairs) => (pairs.length === 0 ? "" : `?${pairs.map(([k, v]) => `${pct(k)}=${pct(v)}`).join("&")}`));

const CONTENT_TYPES = [
  "application/json",
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=utf-16",
  "application/json; charset=latin1",
  "application/json; charset=\"bogus\"",
  "application/merge-patch+json",
  "application/problem+json",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/octet-stream",
  "a/b/c",
  "",
];

/** Present now and then: most requests should get past the parsers to the handlers. */
const sometimes = <T>(arb: fc.Arbitrary<T>, oneIn = 6): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

function headers(ctx: FuzzContext, hasBody: boolean): fc.Arbitrary<Record<string, string>> {
  return fc
    .record({
      authorization: fc.oneof(
        { weight: 40, arbitrary: fc.constantFrom(...ctx.tokens).map((t) => (t === null ? undefined : `Bearer ${t}`)) },
        { weight: 1, arbitrary: hostileText.map((s) => `Bearer ${headerSafe(s)}`) },
        { weight: 1, arbitrary: fc.constantFrom("Basic YWRtaW46YWRtaW4=", "Bearer", "bearer  x  y", `Bearer ${"t".repeat(4_000)}`) },
      ),
      "x-trace-id": sometimes(fc.oneof(fc.constantFrom("ok-trace.1:2", "a".repeat(128), "a".repeat(129), "x".repeat(2_000), "<script>", "a b", "ä", "..\\x"), hostileText.map(headerSafe)), 2),
      "content-type": fc.oneof({ weight: 20, arbitrary: fc.constant("application/json") }, { weight: 1, arbitrary: fc.constantFrom(...CONTENT_TYPES) }, { weight: 1, arbitrary: fc.constant(undefined) }),
      "content-encoding": sometimes(fc.constantFrom("gzip", "deflate", "br", "identity", "x-unknown"), 25),
      range: sometimes(fc.constantFrom("bytes=0-", "bytes=-1", "bytes=999999999-", "bytes=abc", "bytes=0-1,2-3", "bytes=5-1")),
      "if-none-match": sometimes(fc.oneof(fc.constantFrom("*", '"vs_000000000000000000000000"', 'W/"x"'), hostileText.map(headerSafe))),
      "last-event-id": sometimes(fc.oneof(fc.constantFrom("1", "-1", "999999999999"), hostileText.map(headerSafe))),
      "x-forwarded-for": sometimes(fc.constantFrom("10.0.0.1", "' OR 1=1")),
    })
    .map((h) => {
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(h)) if (v !== undefined && (hasBody || (k !== "content-type" && k !== "content-encoding"))) out[k] = v;
      return out;
    });
}

/** Builds each arbitrary once per key: constructing them per generated case costs more than the request. */
function memo<T>(make: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    let value = cache.get(key);
    if (value === undefined) cache.set(key, (value = make(key)));
    return value;
  };
}

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const ARTIFACT_KIND_NAMES = ["prompt", "contract", "model", "index", "tools", "config"] as const;

/** One hostile request: mostly a registered route with hostile parts, sometimes anything at all. */
export function hostileRequest(ctx: FuzzContext, routes: RouteSpec[]): fc.Arbitrary<RawRequest> {
  const raw = rawBodies(ctx);
  const pathOf = memo((i) => routePath(ctx, routes[Number(i)]!));
  const headersFor = memo((sendsBody) => headers(ctx, sendsBody === "yes"));
  const bodyFor = memo((key) => {
    const [shape, kind] = key.split("|") as [BodyShape, string];
    return body(ctx, shape, kind || undefined, raw);
  });
  const queryAndBody = memo((key) => fc.tuple(query, bodyFor(key)));
  const routeIndex = fc.nat(routes.length - 1);
  const target = fc.oneof(
    { weight: 12, arbitrary: routeIndex.chain((i) => pathOf(String(i)).map(({ p, params }) => ({ route: routes[i] as RouteSpec | undefined, method: routes[i]!.method.toUpperCase(), p, params }))) },
    { weight: 1, arbitrary: routeIndex.chain((i) => fc.tuple(pathOf(String(i)), fc.constantFrom(...METHODS)).map(([{ p, params }, method]) => ({ route: routes[i] as RouteSpec | undefined, method, p, params }))) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom("/v1/", "/v1/projects/", "/", "/healthz", "/metrics", "/openapi.json", "/v1/../v1/projects", "//v1//projects", "/V1/PROJECTS"), fc.constantFrom(...RAW_SEGMENTS, ""), fc.constantFrom(...METHODS))
        .map(([a, b, method]) => ({ route: undefined as RouteSpec | undefined, method, p: `${a}${b}`, params: {} as Record<string, string> })),
    },
  );
  return target.chain(({ route, method, p, params }) => {
    const kind = params.kind !== undefined && (ARTIFACT_KIND_NAMES as readonly string[]).includes(params.kind) ? params.kind : "";
    return queryAndBody(`${shapeOf(route)}|${kind}`).chain(([q, b]) => {
      const sendsBody = b !== undefined && method !== "GET" && method !== "HEAD";
      return headersFor(sendsBody ? "yes" : "no").map((h) => ({ method, path: `${p}${q}`, headers: h, body: sendsBody ? b : undefined }));
    });
  });
}
