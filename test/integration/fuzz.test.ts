/**
 * Hostile input against every route of the registry (derived from the RouteSpec registry):
 * random and malicious paths, query strings, headers and bodies. For every request:
 * no 5xx; every error is problem+json with a `code`; no stack trace or file path in any body;
 * a safe x-trace-id; and a refused request (4xx) changes no row of any table. After the run:
 * the server is alive, no remote `$ref` was fetched, and no prototype was polluted.
 *
 * The bulk (FUZZ_RUNS, default 5 000) runs on PGlite; Postgres gets a sample.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Digest, content } from "../support/builders.js";
import { databaseFingerprinter } from "../support/fuzz/fingerprint.js";
import { deepSchemaJson, hostileRequest, type FuzzContext } from "../support/fuzz/hostile.js";
import { oversizedSchemaJson, TERMINAL_TEXT } from "../support/fuzz/hostile-values.js";
import { closeAgent, rawRequest, socketRequest, type RawRequest, type RawResponse } from "../support/fuzz/raw-http.js";
import { ADMIN_TOKEN, backends, startTestApp, type TestApp } from "../support/test-app.js";
import { createToken } from "../support/tokens.js";

const RUNS: Record<string, number> = { pglite: Number(process.env.FUZZ_RUNS ?? 5_000), postgres: Number(process.env.FUZZ_RUNS_POSTGRES ?? 500) };
const MAX_JSON_BYTES = 256 * 1024;
const SAFE_TRACE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
const blobBytes = "fuzz blob";

/** What no response body may contain: a stack frame, a source path, a module path. */
const LEAKS: Array<[string, RegExp]> = [
  ["stack frame", /\n\s+at /],
  ["repository path", new RegExp(REPO_ROOT.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))],
  ["node_modules path", /node_modules/],
  ["file URL", /file:\/\//],
  ["source file", /\.(ts|js):\d+/],
];

function describeRequest(req: RawRequest): string {
  const body = req.body === undefined ? "" : ` body=${JSON.stringify(req.body.toString("utf8").slice(0, 300))}${req.body.length > 300 ? `…(${req.body.length} bytes)` : ""}`;
  return `${req.method} ${req.path.slice(0, 300)} headers=${JSON.stringify(req.headers).slice(0, 300)}${body}`;
}

/** The checks every answer must pass, whatever was asked. */
function checkResponse(req: RawRequest, res: RawResponse): void {
  const what = describeRequest(req);
  expect(res.status, `5xx for ${what}: ${res.body.toString("utf8").slice(0, 500)}`).toBeLessThan(500);
  const traceId = String(res.headers["x-trace-id"] ?? "");
  expect(traceId, `unsafe x-trace-id for ${what}`).toMatch(SAFE_TRACE_ID);
  const sent = req.headers?.["x-trace-id"];
  // 431/414: node's parser refused the request before reading its headers; nothing to echo.
  if (sent !== undefined && SAFE_TRACE_ID.test(sent) && res.status !== 431 && res.status !== 414) expect(traceId).toBe(sent);
  if (sent !== undefined && !SAFE_TRACE_ID.test(sent)) expect(traceId).not.toBe(sent);
  const text = res.body.toString("utf8");
  for (const [label, pattern] of LEAKS) expect(pattern.test(text), `${label} in the answer to ${what}: ${text.slice(0, 500)}`).toBe(false);
  if (res.status >= 400 && req.method !== "HEAD") {
    expect(String(res.headers["content-type"]), `not problem+json for ${what}`).toMatch(/^application\/problem\+json/);
    const problem = JSON.parse(text) as { code?: unknown; status?: unknown; trace_id?: unknown };
    expect(typeof problem.code, `no code for ${what}`).toBe("string");
    expect(problem.status).toBe(res.status);
    expect(problem.trace_id).toBe(traceId);
  }
}

describe.each(backends())("hostile input on $name", (backend) => {
  let t: TestApp;
  let ctx: FuzzContext;
  let refServer: Server;
  let refRequests = 0;
  let fingerprint: () => Promise<string>;
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

  beforeAll(async () => {
    refServer = createServer((_req, res) => {
      refRequests++;
      res.writeHead(200, { "content-type": "application/json" }).end('{"type":"string"}');
    });
    await new Promise<void>((resolve) => refServer.listen(0, "127.0.0.1", () => resolve()));
    t = await startTestApp(backend, { limits: { maxJsonBytes: MAX_JSON_BYTES } });

    // Real data, so hostile requests also reach handlers that find something.
    for (const p of ["fz", "other"]) expect((await t.request("PUT", `/v1/projects/${p}`)).status).toBe(201);
    const blobDigest = sha256Digest(blobBytes);
    expect((await t.request("PUT", `/v1/projects/fz/blobs/${blobDigest}`, { raw: blobBytes, headers: { "content-type": "application/octet-stream" } })).status).toBe(201);
    const prompt = await (await t.request("POST", "/v1/projects/fz/artifacts/prompt/system", { body: { content: content.prompt() } })).json();
    expect((await t.request("POST", "/v1/projects/fz/artifacts/model/main", { body: { content: content.model() } })).status).toBe(201);
    const set = await (await t.request("POST", "/v1/projects/fz/version-sets", { body: { components: { "prompt.system": "prompt/system@1", "model.main": "model/main@1" } } })).json();
    expect((await t.request("PUT", "/v1/projects/fz/environments/staging", { body: {} })).status).toBe(201);
    expect((await t.request("POST", "/v1/projects/fz/environments/staging/deploy", { body: { version_set: set.id } })).status).toBe(200);
    expect((await t.request("PUT", "/v1/projects/fz/environments/prod", { body: { protected: true } })).status).toBe(201);
    const reader = await createToken(t, { scopes: ["read"], projects: ["fz"] });
    const deployer = await createToken(t, { scopes: ["publish", "deploy"], projects: ["fz"], environments: ["staging"] });
    const outsider = await createToken(t, { scopes: ["read", "publish", "deploy"], projects: ["other"] });
    // Its id is among the samples, so DELETE /v1/tokens/{id} gets to revoke something real.
    const victim = await createToken(t, { scopes: ["read"], projects: ["fz"] });

    ctx = {
      samples: {
        project: ["fz", "other", "ghost"],
        env: ["staging", "prod", "nowhere"],
        kind: ["prompt", "contract", "model", "index", "tools", "config"],
        name: ["system", "main", "kb", "absent"],
        ref: ["1", "2", "latest", prompt.digest],
        digest: [blobDigest, sha256Digest("never uploaded")],
        id: [set.id, "vs_000000000000000000000000", victim.id, "tok_bootstrap_admin", "ro_000000000000000000000000"],
      },
      tokens: [...Array<string>(12).fill(ADMIN_TOKEN), reader.token, deployer.token, outsider.token, null, "pst_not-a-token"],
      refServer: `http://127.0.0.1:${(refServer.address() as AddressInfo).port}`,
      maxJsonBytes: MAX_JSON_BYTES,
    };
    fingerprint = await databaseFingerprinter(t.db.handle.db);
  });

  afterAll(async () => {
    closeAgent();
    await t?.close();
    await new Promise<void>((resolve) => refServer?.close(() => resolve()));
  });

  it(`answers ${RUNS[backend.database]} hostile requests without a 5xx, a leak or a write on refusal`, async () => {
    // The detector itself: an insert and an update must both change the fingerprint.
    const initial = await fingerprint();
    expect((await t.request("PUT", "/v1/projects/fingerprint-check")).status).toBe(201);
    const afterInsert = await fingerprint();
    expect(afterInsert).not.toBe(initial);
    expect((await t.request("PUT", "/v1/projects/fz/environments/prod", { body: { protected: false } })).status).toBe(200);
    expect((await t.request("PUT", "/v1/projects/fz/environments/prod", { body: { protected: true } })).status).toBe(200);
    expect(await fingerprint()).not.toBe(afterInsert);

    let last = await fingerprint();
    let cases = 0;
    const statuses = new Map<number, number>();
    const timing = { http: 0, db: 0 };
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(hostileRequest(ctx, t.pinset.routes), async (req) => {
        cases++;
        let t0 = performance.now();
        const res = await rawRequest(t.url, req);
        timing.http += performance.now() - t0;
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        checkResponse(req, res);
        t0 = performance.now();
        const now = await fingerprint();
        timing.db += performance.now() - t0;
        if (res.status >= 400) expect(now, `a refused request wrote: ${describeRequest(req)}`).toBe(last);
        last = now;
      }),
      { numRuns: RUNS[backend.database], seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined, endOnFailure: !process.env.FUZZ_SHRINK },
    );
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`fuzz on ${backend.name}: ${cases} cases in ${seconds.toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; http ${(timing.http / 1000).toFixed(1)} s, fingerprints ${(timing.db / 1000).toFixed(1)} s\n`);
    expect(cases).toBeGreaterThanOrEqual(RUNS[backend.database]!);
    expect([...statuses.keys()].some((s) => s < 300), "some requests must get through").toBe(true);
  }, 300_000);

  it("stays alive, fetched no remote $ref and polluted no prototype", async () => {
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect((await t.request("GET", "/v1/projects")).status).toBe(200);
    expect(refRequests).toBe(0);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses JSON Schemas 5 000 levels deep with 422, in contracts and tools", async () => {
    const json = { "content-type": "application/json" };
    for (const key of ["properties", "items", "allOf"] as const) {
      const schema = deepSchemaJson(5_000, key);
      const contract = await t.request("POST", "/v1/projects/fz/artifacts/contract/deep", { raw: `{"content":{"schema":${schema}}}`, headers: json });
      expect(contract.status).toBe(422);
      expect((await contract.json()).errors[0].message).toMatch(/nested deeper/);
      const tools = await t.request("POST", "/v1/projects/fz/artifacts/tools/deep", { raw: `{"content":{"tools":[{"name":"t","description":"d","input_schema":${schema}}]}}`, headers: json });
      expect(tools.status).toBe(422);
    }
  });

  it("refuses schemas over each limit with 422 naming where and the limit, in contracts and tools, writing nothing", async () => {
    const before = await fingerprint();
    const json = { "content-type": "application/json" };
    for (const schema of oversizedSchemaJson()) {
      const contract = await t.request("POST", "/v1/projects/fz/artifacts/contract/oversized", { raw: `{"content":{"schema":${schema}}}`, headers: json });
      expect(contract.status, schema.slice(0, 80)).toBe(422);
      const [error] = (await contract.json()).errors;
      expect(error.path).toMatch(/^content\.schema/);
      expect(error.message).toMatch(/\(limit PINSET_SCHEMA_MAX_(PROPERTIES|BRANCHES|DEPTH)=\d+\)$/);
      const tools = await t.request("POST", "/v1/projects/fz/artifacts/tools/oversized", { raw: `{"content":{"tools":[{"name":"t","description":"d","input_schema":${schema}}]}}`, headers: json });
      expect(tools.status).toBe(422);
      expect((await tools.json()).errors[0].path).toMatch(/^content\.tools\[0\]\.input_schema/);
    }
    expect(await fingerprint()).toBe(before);
  });

  it("refuses terminal control, bidi and zero-width characters in index paths, tool names and permissions with 422, writing nothing", async () => {
    const before = await fingerprint();
    const digest = ctx.samples.digest![0]!;
    for (const text of TERMINAL_TEXT) {
      const index = await t.request("POST", "/v1/projects/fz/artifacts/index/tty", { body: { content: { files: [{ path: `docs/${text}`, digest, size: 9 }] } } });
      expect(index.status, JSON.stringify(text)).toBe(422);
      expect((await index.json()).errors.map((e: { path: string }) => e.path)).toContain("content.files[0].path");
      const tool = await t.request("POST", "/v1/projects/fz/artifacts/tools/tty", { body: { content: { tools: [{ name: `t${text}`, description: "d", input_schema: { type: "object" }, permissions: [text] }] } } });
      expect(tool.status).toBe(422);
      expect((await tool.json()).errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(["content.tools[0].name", "content.tools[0].permissions[0]"]));
    }
    expect(await fingerprint()).toBe(before);
  });

  it("refuses NUL characters and lone surrogates anywhere in a request with 400, writing nothing", async () => {
    const before = await fingerprint();
    const json = { "content-type": "application/json" };
    const cases: Array<[string, string, string, string]> = [
      ["PUT", "/v1/projects/other", '{"description":"a\\u0000b"}', "body.description"],
      ["PUT", "/v1/projects/nul-project", '{"description":"\\u0000"}', "body.description"],
      ["POST", "/v1/projects/fz/artifacts/prompt/nul", '{"content":{"template":"x"},"annotations":{"k":"\\u0000"}}', "body.annotations.k"],
      ["POST", "/v1/projects/fz/artifacts/config/nul", '{"content":{"values":{"k":"\\ud800"}}}', "body.content.values.k"],
      ["POST", "/v1/tokens", '{"name":"a\\u0000","scopes":["read"],"projects":["*"]}', "body.name"],
      ["GET", "/v1/projects/fz/audit?action=a%00b", "", "query.action"],
    ];
    for (const [method, path, raw, field] of cases) {
      const res = await t.request(method, path, raw ? { raw, headers: json } : {});
      expect(res.status, `${method} ${path}`).toBe(400);
      const problem = await res.json();
      expect(problem.errors.map((e: { path: string }) => e.path), `${method} ${path}`).toContain(field);
    }
    // The raw UTF-8 text is scanned for these escapes before the parsed body is walked: an
    // upper-case one, and a body in another charset (which the scan does not read) are refused too.
    const utf16 = { "content-type": "application/json; charset=utf-16le" };
    const others: Array<[BodyInit, Record<string, string>, string]> = [
      ['{"description":"\\uDFFF"}', json, "body.description"],
      [Buffer.from('{"description":"a\ud800b"}', "utf16le"), utf16, "body.description"],
      [Buffer.from('{"description":"ok","x\\u0000":1}', "utf16le"), utf16, "body.x\ufffd"],
    ];
    for (const [raw, headers, field] of others) {
      const res = await t.request("PUT", "/v1/projects/other", { raw, headers });
      expect(res.status, field).toBe(400);
      expect((await res.json()).errors.map((e: { path: string }) => e.path)).toContain(field);
    }
    expect(await fingerprint()).toBe(before);
  });

  it("stores text whose raw bytes hold an encoded surrogate as U+FFFD (the decoder replaces it): nothing unstorable reaches the database", async () => {
    const raw = Buffer.concat([Buffer.from('{"description":"a'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('b"}')]);
    const res = await t.request("PUT", "/v1/projects/encoded-surrogate", { raw, headers: { "content-type": "application/json" } });
    expect(res.status).toBe(201);
    const listed = await (await t.request("GET", "/v1/projects")).json();
    const project = listed.items.find((p: { name: string }) => p.name === "encoded-surrogate");
    expect(project.description).toMatch(/^a\ufffd+b$/);
  });

  it("never fetches a remote $ref: such a schema does not compile (422)", async () => {
    for (const schema of [{ $ref: `${ctx.refServer}/a.json` }, { $id: `${ctx.refServer}/root.json`, $ref: "b.json" }, { $schema: `${ctx.refServer}/meta` }]) {
      const res = await t.request("POST", "/v1/projects/fz/artifacts/contract/remote", { body: { content: { schema } } });
      expect(res.status, JSON.stringify(schema)).toBe(422);
    }
    expect(refRequests).toBe(0);
  });

  it("replaces an x-trace-id with CR/LF, control characters or over 128 characters by a generated one", async () => {
    for (const bad of ["a".repeat(129), "x".repeat(8_000), "a b", "<script>", "ä"]) {
      const res = await rawRequest(t.url, { method: "GET", path: "/healthz", headers: { "x-trace-id": bad } });
      expect(res.headers["x-trace-id"]).toMatch(/^[0-9a-f]{32}$/);
    }
    // Raw bytes no HTTP client sends: a bare CR, and an obsolete line folding. Node's parser
    // refuses both; the answer must still be problem+json and carry no injected header.
    for (const header of ["x-trace-id: abc\rx-injected: 1", "x-trace-id: abc\r\n x-injected: 1", "x-trace-id: a\u0000b"]) {
      const answer = await socketRequest(t.url, `GET /v1/projects HTTP/1.1\r\nhost: x\r\n${header}\r\nconnection: close\r\n\r\n`);
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer.toLowerCase()).not.toContain("x-injected");
      expect(answer).toMatch(/content-type: application\/problem\+json/i);
      expect(answer).toMatch(/x-trace-id: [0-9a-f]{32}\r\n/i);
    }
    // A header block over node's limit is refused the same way.
    const huge = await socketRequest(t.url, `GET /v1/projects HTTP/1.1\r\nhost: x\r\nx-pad: ${"p".repeat(20_000)}\r\nconnection: close\r\n\r\n`);
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
    expect(huge).toMatch(/content-type: application\/problem\+json/i);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });
});
