/** Request bodies: shaped like what each route takes, filled with valid and hostile values, plus raw byte strings. */
import fc from "fast-check";
import type { RouteSpec } from "../../../src/http/routes.js";
import { deepSchemaJson, hostileJson, hostileText, oversizedSchemaJson, remoteSchemas, terminalText, type FuzzContext, type NestingKey } from "./hostile-values.js";

function contentish(ctx: FuzzContext): fc.Arbitrary<unknown> {
  // Moderately deep here (JSON.stringify must serialise them); 5 000 levels come as raw bodies.
  const deep = fc.tuple(fc.constantFrom(65, 70, 300), fc.constantFrom<NestingKey>("properties", "items", "allOf")).map(([depth, k]) => JSON.parse(deepSchemaJson(depth, k)) as unknown);
  const oversized = fc.constantFrom(...oversizedSchemaJson()).map((text) => JSON.parse(text) as unknown);
  const schema = fc.oneof(deep, oversized, fc.constantFrom(...remoteSchemas(ctx.refServer)), hostileJson);
  return fc.oneof(
    { weight: 2, arbitrary: hostileJson },
    { weight: 2, arbitrary: schema.map((s) => ({ schema: s })) },
    { weight: 2, arbitrary: schema.map((s) => ({ tools: [{ name: "t", description: "d", input_schema: s }] })) },
    { weight: 1, arbitrary: fc.record({ template: hostileText, variables: fc.array(hostileText, { maxLength: 2 }) }, { requiredKeys: ["template"] }) },
    { weight: 1, arbitrary: fc.record({ messages: fc.array(fc.record({ role: hostileText, content: hostileText }), { maxLength: 2 }) }) },
    { weight: 1, arbitrary: fc.record({ provider: hostileText, model: hostileText, params: hostileJson }) },
    { weight: 1, arbitrary: fc.record({ values: fc.dictionary(hostileText, hostileJson, { maxKeys: 3 }) }) },
    { weight: 1, arbitrary: fc.record({ files: fc.array(fc.record({ path: hostileText, digest: fc.constantFrom(...(ctx.samples.digest ?? ["x"]), "sha256:../x"), size: fc.oneof(fc.nat(), fc.constantFrom(-1, 1e20)) }), { maxLength: 3 }) }) },
    // Terminal-unsafe text where it is refused: index paths (with a real blob), tool names and permissions.
    { weight: 1, arbitrary: terminalText.map((t) => ({ files: [{ path: `docs/${t}.md`, digest: ctx.samples.digest?.[0] ?? "", size: 9 }] })) },
    { weight: 1, arbitrary: fc.tuple(terminalText, terminalText).map(([name, permission]) => ({ tools: [{ name, description: "d", input_schema: { type: "object" }, permissions: [permission] }] })) },
  );
}

/** Valid content for `kind` (any kind when the path's kind is not one), so publishes succeed. */
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
    rollout: fc.record({ candidate: setId, percent: fc.oneof(fc.double(), fc.constantFrom(0, 1, 50, 100, 101, -1, 1e-9, 1e-300, 0.004, 99.999), anything), allow: fc.array(anything, { maxLength: 2 }), auto: anything, force: anything, reason: anything }),
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

export type BodyShape = keyof ReturnType<typeof bodyShapes>;

export function shapeOf(route: RouteSpec | undefined): BodyShape {
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

export function rawBodies(ctx: FuzzContext): fc.Arbitrary<Buffer> {
  const near = ctx.maxJsonBytes;
  return fc.constantFrom(
    () => Buffer.from('{"__proto__": {"polluted": true}, "content": {"__proto__": {"polluted": true}}}'),
    () => Buffer.from('{"constructor": {"prototype": {"polluted": true}}, "content": {"constructor": {"prototype": {"polluted": true}}}}'),
    () => Buffer.from(`${"[".repeat(100_000)}${"]".repeat(100_000)}`),
    () => Buffer.from(`{"content":${'{"a":'.repeat(5_000)}1${"}".repeat(5_000)}}`),
    ...oversizedSchemaJson().flatMap((schema) => [
      () => Buffer.from(`{"content":{"schema":${schema}}}`),
      () => Buffer.from(`{"content":{"tools":[{"name":"t","description":"d","input_schema":${schema}}]}}`),
    ]),
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

export function body(ctx: FuzzContext, shape: BodyShape, kind: string | undefined, raw: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer | undefined> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 8, arbitrary: bodyObject(ctx, shape, kind).map((v) => Buffer.from(JSON.stringify(v) ?? "null")) },
    { weight: 2, arbitrary: raw },
  );
}

