/**
 * fast-check arbitraries for hostile HTTP requests: path segments, query strings, headers and
 * bodies that a careless handler would turn into a 500, a stack trace, a write, a fetch or a
 * polluted prototype. Every request is built from the route registry, so new routes are fuzzed
 * as soon as they are mounted.
 */
import fc from "fast-check";
import type { RouteSpec } from "../../../src/http/routes.js";
import type { RawRequest } from "./raw-http.js";

export interface FuzzContext {
  /** Valid values per route parameter name (`project`, `digest`, …), so requests reach handlers. */
  samples: Record<string, string[]>;
  /** Bearer tokens to pick from (admin first); `null` sends none. */
  tokens: Array<string | null>;
  /** A local server that must never be contacted: remote `$ref`s point at it. */
  refServer: string;
  /** The largest JSON body the app accepts. */
  maxJsonBytes: number;
}

const HOSTILE_TEXT = [
  "",
  " ",
  "\t",
  "..",
  "../",
  "../../etc/passwd",
  "..\\..\\windows\\win.ini",
  "a/../b",
  "/etc/passwd",
  "....//",
  "__proto__",
  "constructor",
  "prototype",
  "hasOwnProperty",
  "toString",
  "' OR '1'='1",
  "'; DROP TABLE projects; --",
  '" OR 1=1 --',
  "1; select pg_sleep(5)",
  "%' --",
  "\\",
  "$1",
  "E'\\x00'",
  "\u0000",
  "a\u0000b",
  "\r\n",
  "a\r\nx-injected: 1",
  "\u202e",
  "\ud800",
  "\udfff",
  "😀",
  "\uffff",
  "İ",
  "ａｂｃ",
  "%s%s%s%n",
  "${jndi:ldap://127.0.0.1/x}",
  "{{7*7}}",
  "<script>alert(1)</script>",
  "-1",
  "0",
  "1e309",
  "NaN",
  "Infinity",
  "9007199254740993",
  "0x10",
  "1.5",
  " 1",
  "latest",
  "*",
  "sha256:../../../etc/passwd",
  `sha256:${"0".repeat(63)}G`,
  `sha256:${"A".repeat(64)}`,
  `sha256:${"0".repeat(65)}`,
  `sha512:${"0".repeat(128)}`,
  "vs_000000000000000000000000",
  "vs_../../x",
  "tok_bootstrap_admin",
  "a".repeat(129),
  "b".repeat(5_000),
];

/** Already percent-encoded segments, sent verbatim: encoded traversal and slashes, bad escapes. */
const RAW_SEGMENTS = [
  "..%2F",
  "..%2f..%2fetc%2fpasswd",
  "%2e%2e%2f",
  "%2e%2e",
  ".%2e",
  "%252e%252e%252f",
  "%c0%ae%c0%ae%2f",
  "%2F",
  "a%2Fb",
  "%5C",
  "%00",
  "a%00b",
  "%0d%0ax-injected:%201",
  "%",
  "%zz",
  "%e0%80",
  "%ff%fe",
  "sha256%3A..%2F..%2Fx",
  "..",
  ".",
  "~",
];

export const hostileText = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_TEXT) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
);

/** Percent-encodes the UTF-8 bytes of `s` (lone surrogates become U+FFFD; encodeURIComponent throws). */
const pct = (s: string) =>
  [...Buffer.from(s, "utf8")].map((b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`)).join("");

/** A header value node's HTTP client accepts (tab, printable ASCII and latin1 bytes). */
const headerSafe = (s: string) => s.replace(/[^\t\x20-\x7e\x80-\xff]/g, "");

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
const QUERY_VALUES = ["1", "500", "501", "0", "-1", "abc", "eyJwIjoxfQ", "eyJwIjotMX0", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00", "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z"];

const query = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom(...QUERY_KEYS), hostileText),
      fc.oneof({ weight: 10, arbitrary: fc.oneof(fc.constantFrom(...QUERY_VALUES), hostileText) }, { weight: 1, arbitrary: fc.constant("x".repeat(3_000)) }),
    ),
    { maxLength: 4 },
  )
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

export type NestingKey = "properties" | "items" | "allOf";

/**
 * `depth` levels of nested subschemas as JSON text, built without recursion: JSON.stringify
 * itself overflows the stack on such an object.
 */
export function deepSchemaJson(depth: number, key: NestingKey): string {
  const [open, close] =
    key === "properties" ? ['{"type":"object","properties":{"a":', "}}"] : key === "items" ? ['{"type":"array","items":', "}"] : ['{"allOf":[', "]}"];
  return `${open.repeat(depth)}{"type":"string"}${close.repeat(depth)}`;
}

function remoteSchemas(ref: string): unknown[] {
  return [
    { $ref: `${ref}/schema.json` },
    { $id: `${ref}/root.json`, $ref: "other.json" },
    { $schema: `${ref}/meta-schema` },
    { type: "object", properties: { a: { $ref: `${ref}/a.json#/definitions/b` } } },
    { $dynamicRef: `${ref}/dynamic.json#meta` },
    { $id: `${ref}/x`, $defs: { a: { $id: "y", $ref: `${ref}/z.json` } }, $ref: "#/$defs/a" },
    { allOf: [{ $ref: `${ref}/s.json` }], $anchor: "a" },
  ];
}

/** A JSON value with hostile keys and strings at any depth. */
const hostileJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(-0, 1e308, 2 ** 53 + 1, -1)),
    hostileText,
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom("__proto__", "constructor", "prototype", "$ref", "$id", "polluted"), hostileText), tie("value"), { maxKeys: 3 }),
  ),
})).value;

function contentish(ctx: FuzzContext): fc.Arbitrary<unknown> {
  // Moderately deep here (JSON.stringify must serialise them); 5 000 levels come as raw bodies.
  const deep = fc.tuple(fc.constantFrom(65, 70, 300), fc.constantFrom<NestingKey>("properties", "items", "allOf")).map(([depth, k]) => JSON.parse(deepSchemaJson(depth, k)) as unknown);
  const schema = fc.oneof(deep, fc.constantFrom(...remoteSchemas(ctx.refServer)), hostileJson);
  return fc.oneof(
    { weight: 2, arbitrary: hostileJson },
    { weight: 2, arbitrary: schema.map((s) => ({ schema: s })) },
    { weight: 2, arbitrary: schema.map((s) => ({ tools: [{ name: "t", description: "d", input_schema: s }] })) },
    { weight: 1, arbitrary: fc.record({ template: hostileText, variables: fc.array(hostileText, { maxLength: 2 }) }, { requiredKeys: ["template"] }) },
    { weight: 1, arbitrary: fc.record({ messages: fc.array(fc.record({ role: hostileText, content: hostileText }), { maxLength: 2 }) }) },
    { weight: 1, arbitrary: fc.record({ provider: hostileText, model: hostileText, params: hostileJson }) },
    { weight: 1, arbitrary: fc.record({ values: fc.dictionary(hostileText, hostileJson, { maxKeys: 3 }) }) },
    { weight: 1, arbitrary: fc.record({ files: fc.array(fc.record({ path: hostileText, digest: fc.constantFrom(...(ctx.samples.digest ?? ["x"]), "sha256:../x"), size: fc.oneof(fc.nat(), fc.constantFrom(-1, 1e20)) }), { maxLength: 3 }) }) },
  );
}

/** Valid content per kind (so publishes succeed and later requests find more to chew on). */
/** Valid content for `kind` (any kind when the path's kind is not one). */
function validContent(ctx: FuzzContext, kind: string | undefined): fc.Arbitrary<unknown> {
  const word = fc.stringMatching(/^[a-z]{1,8}$/);
  const byKind: Record<string, fc.Arbitrary<unknown>> = {
    prompt: word.map((w) => ({ template: `${w} {{question}}`, variables: ["question"] })),
    model: word.map((w) => ({ provider: "openai", model: w, params: { temperature: 0.1 } })),
    config: word.map((w) => ({ values: { [w]: w } })),
    contract: word.map((w) => ({ schema: { type: "object", properties: { [w]: { type: "string" } } } })),
    tools: word.map((w) => ({ tools: [{ name: w, description: w, input_schema: { type: "object" } }] })),
    index: fc.constant({ files: [{ path: "a.bin", digest: ctx.samples.digest?.[0] ?? "", size: 9 }] }),
  };
  // hasOwn: the path's kind may well be "constructor" or "__proto__".
  return kind !== undefined && Object.hasOwn(byKind, kind) ? byKind[kind]! : fc.oneof(...Object.values(byKind));
}

/** Body shapes by what a route takes; the route's own shape is picked most of the time. */
function bodyShapes(ctx: FuzzContext, kind: string | undefined) {
  const anything = fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom("fz", "staging", "a reason", 1, true, ...(ctx.samples.id ?? []), ...(ctx.samples.ref ?? [])) },
    { weight: 1, arbitrary: hostileText },
    { weight: 1, arbitrary: hostileJson },
  );
  const setId = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...(ctx.samples.id ?? ["x"])) }, { weight: 1, arbitrary: anything });
  return {
    artifact: fc.record(
      { content: fc.oneof(validContent(ctx, kind), contentish(ctx)), annotations: fc.dictionary(hostileText, fc.oneof(hostileText, hostileJson), { maxKeys: 3 }) },
      { requiredKeys: ["content"] },
    ),
    versionSet: fc.record(
      {
        components: fc.dictionary(fc.oneof(fc.constantFrom("prompt.system", "model.main"), hostileText), fc.oneof(fc.constantFrom("prompt/system@1", "prompt/system@latest", "model/main@1", "model/x@999999999"), anything), { maxKeys: 3 }),
        code: fc.oneof(fc.record({ repo: hostileText, commit: hostileText }), hostileJson),
        description: anything,
      },
      { requiredKeys: ["components"] },
    ),
    deploy: fc.record({ version_set: setId, expected_revision: fc.oneof(fc.integer(), anything), reason: anything, to: setId }),
    environment: fc.record({ protected: fc.oneof(fc.boolean(), anything), description: anything }),
    token: fc.record({
      name: anything,
      scopes: fc.array(fc.oneof(fc.constantFrom("read", "publish", "deploy", "admin"), anything), { maxLength: 3 }),
      projects: fc.array(fc.oneof(fc.constantFrom("*", "fz"), anything), { maxLength: 3 }),
      environments: fc.array(anything, { maxLength: 2 }),
      expires_at: fc.oneof(fc.constantFrom("2999-01-01T00:00:00Z", "2000-01-01T00:00:00Z"), anything),
    }),
    webhook: fc.record({
      url: fc.oneof(fc.constantFrom("http://127.0.0.1:9/hook", "file:///etc/passwd", "javascript:alert(1)", "http://user:pass@127.0.0.1:9/"), anything),
      events: fc.array(fc.oneof(fc.constantFrom("environment.changed", "artifact.published"), anything), { maxLength: 2 }),
      secret: fc.oneof(fc.constant("0123456789abcdef0123"), anything),
    }),
    rollout: fc.record({ candidate: setId, percent: fc.oneof(fc.double(), fc.constantFrom(0, 1, 50, 100, 101, -1), anything), allow: fc.array(anything, { maxLength: 2 }), auto: anything, force: anything, reason: anything }),
    observation: fc.record({
      version_set: setId,
      window_start: fc.oneof(fc.constant("2024-01-01T00:00:00Z"), anything),
      window_end: fc.oneof(fc.constant("2024-01-01T01:00:00Z"), anything),
      metrics: fc.oneof(fc.constant({ quality: { success_rate: 0.9 } }), hostileJson),
      sample_trace_ids: fc.array(anything, { maxLength: 2 }),
    }),
    project: fc.record({ description: anything }),
    any: hostileJson,
  };
}

type BodyShape = keyof ReturnType<typeof bodyShapes>;

function shapeOf(route: RouteSpec | undefined): BodyShape {
  const p = route?.path ?? "";
  if (p.includes("/artifacts/")) return "artifact";
  if (p.endsWith("/version-sets")) return "versionSet";
  if (p.endsWith("/deploy") || p.endsWith("/rollback")) return "deploy";
  if (p.endsWith("/environments/:env")) return "environment";
  if (p.startsWith("/tokens")) return "token";
  if (p.includes("/webhooks")) return "webhook";
  if (p.includes("/rollout")) return "rollout";
  if (p.endsWith("/observations") || p.endsWith("/gate-policy")) return "observation";
  if (p === "/projects/:project") return "project";
  return "any";
}

function bodyObject(ctx: FuzzContext, shape: BodyShape, kind: string | undefined): fc.Arbitrary<unknown> {
  const shapes = bodyShapes(ctx, kind);
  return fc.oneof({ weight: 6, arbitrary: shapes[shape] }, { weight: 1, arbitrary: fc.oneof(...Object.values(shapes)) });
}

function rawBodies(ctx: FuzzContext): fc.Arbitrary<Buffer> {
  const near = ctx.maxJsonBytes;
  return fc.constantFrom(
    () => Buffer.from('{"__proto__": {"polluted": true}, "content": {"__proto__": {"polluted": true}}}'),
    () => Buffer.from('{"constructor": {"prototype": {"polluted": true}}, "content": {"constructor": {"prototype": {"polluted": true}}}}'),
    () => Buffer.from(`${"[".repeat(100_000)}${"]".repeat(100_000)}`),
    () => Buffer.from(`{"content":${'{"a":'.repeat(5_000)}1${"}".repeat(5_000)}}`),
    ...(["properties", "items", "allOf"] as const).flatMap((key) => [
      () => Buffer.from(`{"content":{"schema":${deepSchemaJson(5_000, key)}}}`),
      () => Buffer.from(`{"content":{"tools":[{"name":"t","description":"d","input_schema":${deepSchemaJson(5_000, key)}}]}}`),
    ]),
    () => Buffer.from('{"content":{"template":"x"}} trailing'),
    () => Buffer.from('{"content":1,"content":{"template":"dup"}}'),
    () => Buffer.from('\ufeff{"content":{"template":"bom"}}'),
    () => Buffer.from('{"content":NaN}'),
    () => Buffer.from(`{"content":{"values":{"n":1${"0".repeat(400)}}}}`),
    () => Buffer.from('{"content":{"template":"\\ud800"}}'),
    () => Buffer.from('{"content":{"template":"\\u0000"},"annotations":{"k":"\\u0000"},"description":"\\u0000","name":"\\u0000"}'),
    () => Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    () => Buffer.from([0x7b, 0x22, 0x63, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0x22, 0x7d]),
    () => Buffer.from([0x7b, 0x22, 0x61, 0x00, 0x62, 0x22, 0x3a, 0x31, 0x7d]),
    () => Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef]),
    () => Buffer.from(`{"content":{"template":"${"a".repeat(near - 40)}"}}`),
    () => Buffer.from(`{"content":{"template":"${"a".repeat(near + 10)}"}}`),
    () => Buffer.from(`{"description":"${"\\u0000".repeat(1_000)}"}`),
    () => Buffer.alloc(0),
    () => Buffer.from("null"),
    () => Buffer.from("[]"),
    () => Buffer.from('"string"'),
    () => Buffer.from("{"),
  ).map((make) => make());
}

function body(ctx: FuzzContext, shape: BodyShape, kind: string | undefined, raw: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer | undefined> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 8, arbitrary: bodyObject(ctx, shape, kind).map((v) => Buffer.from(JSON.stringify(v) ?? "null")) },
    { weight: 2, arbitrary: raw },
  );
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
