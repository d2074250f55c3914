import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashTokenSecret } from "../../src/auth/secrets.js";
import { KyselyTokenStore } from "../../src/auth/token-store.js";
import { asTx } from "../../src/db/transactions.js";
import { canonicalJson } from "../../src/core/canonical-json.js";
import { content, sha256Digest } from "../support/builders.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";

interface Pinned {
  kind: string;
  name: string;
  version: number;
  digest: string;
}
interface SetJson {
  id: string;
  components: Record<string, Pinned>;
  code: { repo: string; commit: string } | null;
  description: string | null;
  summary: Record<string, string>;
  created_at: string;
}
interface Problem {
  status: number;
  code: string;
  detail: string;
  errors?: Array<{ path: string; message: string }>;
}

/** The documented id input: canonical JSON of {components (as returned), code (or null)}. */
function expectedId(components: Record<string, Pinned>, code: SetJson["code"]): string {
  return `vs_${createHash("sha256").update(canonicalJson({ components, code })).digest("hex").slice(0, 24)}`;
}

const COMMIT = "9fceb02d0ae598e95dc970b74767f19372d61af8";
const READ_TOKEN = "test-read-token-0123456789abcdef";
const FILE_A = Buffer.from("alpha document\n");
const FILE_B = Buffer.from("beta document\n");
const FILE_B2 = Buffer.from("beta document, revised\n");
const FILE_C = Buffer.from("gamma document\n");
const indexOf = (files: Buffer[], paths: string[], metadata: Record<string, unknown>) => ({
  files: files.map((data, i) => ({ path: paths[i]!, digest: sha256Digest(data), size: data.length })),
  metadata,
});

describe.each(backends())("version sets on $name", (backend) => {
  let t: TestApp;
  const published: Record<string, Pinned> = {};

  const publish = async (project: string, kind: string, name: string, body: unknown): Promise<Pinned> => {
    const res = await t.request("POST", `/v1/projects/${project}/artifacts/${kind}/${name}`, { body: { content: body } });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    const a = (await res.json()) as Pinned;
    return { kind: a.kind, name: a.name, version: a.version, digest: a.digest };
  };
  const create = (body: unknown, project = "demo") => t.request("POST", `/v1/projects/${project}/version-sets`, { body });
  const createOk = async (body: unknown, project = "demo"): Promise<SetJson> => {
    const res = await create(body, project);
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    return (await res.json()) as SetJson;
  };
  const listAll = async (project: string): Promise<SetJson[]> => (await (await t.request("GET", `/v1/projects/${project}/version-sets?limit=500`)).json()).items;

  beforeAll(async () => {
    t = await startTestApp(backend);
    for (const p of ["demo", "other", "paging"]) expect((await t.request("PUT", `/v1/projects/${p}`)).status).toBe(201);
    for (const data of [FILE_A, FILE_B, FILE_B2, FILE_C]) {
      const res = await t.request("PUT", `/v1/projects/demo/blobs/${sha256Digest(data)}`, { raw: data, headers: { "content-type": "application/octet-stream" } });
      expect(res.status).toBe(201);
    }
    published.greet1 = await publish("demo", "prompt", "greet", content.prompt("Hello {{question}}\nBe kind.\n"));
    published.greet2 = await publish("demo", "prompt", "greet", content.prompt("Hello {{question}}\nBe brief.\n"));
    published.chat1 = await publish("demo", "model", "chat", content.model({ temperature: 0.2 }));
    published.chat2 = await publish("demo", "model", "chat", content.model({ temperature: 0.7 }));
    published.answer1 = await publish("demo", "contract", "answer", content.contract());
    published.answer2 = await publish("demo", "contract", "answer", content.contract({ type: "object", properties: { answer: { type: "string" } } }));
    published.docs1 = await publish("demo", "index", "docs", indexOf([FILE_A, FILE_B], ["a.txt", "b.txt"], { embedder: "e5", chunk: 512 }));
    published.docs2 = await publish("demo", "index", "docs", indexOf([FILE_B2, FILE_C], ["b.txt", "c.txt"], { embedder: "e5", chunk: 256 }));
    published.tools1 = await publish("demo", "tools", "support", content.tools());
    published.tools2 = await publish("demo", "tools", "support", {
      tools: [
        { name: "search", description: "Search the KB", input_schema: { type: "object", properties: { q: { type: "string" }, k: { type: "integer" } }, required: ["q", "k"] } },
        { name: "escalate", description: "Hand over to a human", input_schema: { type: "object" } },
      ],
    });
    published.defaults1 = await publish("demo", "config", "defaults", content.config({ retries: 3, timeout_ms: 1000 }));
    published.defaults2 = await publish("demo", "config", "defaults", content.config({ retries: 5, region: "eu" }));
    published.foreign = await publish("other", "prompt", "foreign", content.prompt());
    await new KyselyTokenStore(t.db.handle.db).insert(asTx(t.db.handle.db), {
      id: "tok_test_read",
      name: "reader",
      secretHash: hashTokenSecret(READ_TOKEN),
      scopes: ["read"],
      projects: ["demo"],
      environments: null,
      expiresAt: null,
      createdBy: "test",
    });
  });
  afterAll(async () => t?.close());

  it("creates a set with pinned versions and digests, code, description and summary (201), audited", async () => {
    const res = await create({
      components: { system: "prompt/greet@1", llm: "model/chat@latest", out: `contract/answer@${published.answer1!.digest}` },
      code: { repo: "github.com/acme/bot", commit: COMMIT },
      description: "first release",
    });
    expect(res.status).toBe(201);
    const set = (await res.json()) as SetJson;
    expect(set.id).toMatch(/^vs_[0-9a-f]{24}$/);
    expect(set.components).toEqual({ llm: published.chat2, out: published.answer1, system: published.greet1 });
    expect(set.code).toEqual({ repo: "github.com/acme/bot", commit: COMMIT });
    expect(set.description).toBe("first release");
    expect(set.summary).toEqual({
      code_v: "github.com/acme/bot@9fceb02d0ae5",
      prompt_v: "system=greet@1",
      contract_v: "out=answer@1",
      model_v: "llm=chat@2",
    });
    expect(Date.parse(set.created_at)).not.toBeNaN();
    expect(set.id).toBe(expectedId(set.components, set.code));

    const got = await t.request("GET", `/v1/projects/demo/version-sets/${set.id}`);
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual(set);

    const audit = await t.db.handle.db.selectFrom("audit_log").selectAll().where("action", "=", "version_set.create").where("target", "=", `version_set/${set.id}`).execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ project: "demo", actor: "admin (PINSET_ADMIN_TOKEN)" });
    expect(audit[0]!.after).toMatchObject({ components: set.components, code: set.code, description: "first release" });
  });

  it("pins `latest` at creation: a later publish does not change the set", async () => {
    const first = await publish("demo", "prompt", "moving", content.prompt("v1 {{question}}"));
    const set = await createOk({ components: { p: "prompt/moving@latest" } });
    expect(set.components.p).toEqual(first);
    const second = await publish("demo", "prompt", "moving", content.prompt("v2 {{question}}"));
    expect(second.version).toBe(2);

    const got = (await (await t.request("GET", `/v1/projects/demo/version-sets/${set.id}`)).json()) as SetJson;
    expect(got.components.p).toEqual(first);
    const bundle = await (await t.request("GET", `/v1/projects/demo/version-sets/${set.id}/bundle`)).json();
    expect(bundle.components.p.content).toEqual(content.prompt("v1 {{question}}"));

    // The same request now pins version 2: another set.
    const again = await create({ components: { p: "prompt/moving@latest" } });
    expect(again.status).toBe(201);
    const next = (await again.json()) as SetJson;
    expect(next.components.p).toEqual(second);
    expect(next.id).not.toBe(set.id);
  });

  it("answers 200 with the stored set for the same pinned content, whatever the ref form or description", async () => {
    const first = await create({ components: { c: "config/defaults@1", m: "model/chat@1" }, description: "original" });
    expect(first.status).toBe(201);
    const set = (await first.json()) as SetJson;
    for (const body of [
      { components: { m: "model/chat@1", c: "config/defaults@1" }, description: "original" },
      { components: { c: `config/defaults@${published.defaults1!.digest}`, m: "model/chat@1" } },
      { components: { c: "config/defaults@1", m: "model/chat@1" }, description: "a different note" },
    ]) {
      const res = await create(body);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(set);
    }
    const withCode = await create({ components: { c: "config/defaults@1", m: "model/chat@1" }, code: { repo: "r", commit: "abc" } });
    expect(withCode.status).toBe(201);
    expect(((await withCode.json()) as SetJson).id).not.toBe(set.id);
    expect((await listAll("demo")).filter((s) => s.id === set.id)).toHaveLength(1);
  });

  it("gives identical concurrent creates one set: exactly one 201", async () => {
    const body = { components: { t: "tools/support@1", c: "config/defaults@2" }, code: { repo: "race", commit: "1" } };
    const results = await Promise.all(Array.from({ length: 10 }, () => create(body)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(9);
    const ids = new Set(await Promise.all(results.map(async (r) => ((await r.json()) as SetJson).id)));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    expect((await listAll("demo")).filter((s) => s.id === id)).toHaveLength(1);
    const audits = await t.db.handle.db.selectFrom("audit_log").select("seq").where("target", "=", `version_set/${id}`).execute();
    expect(audits).toHaveLength(1);
  });

  it("answers 422 naming every malformed or unresolvable slot at once, and writes nothing", async () => {
    const before = (await listAll("demo")).length;
    const res = await create({
      components: {
        ok: "prompt/greet@1",
        shape: "prompt-greet-1",
        kind: "widget/greet@1",
        name: "prompt/Greet@1",
        ref: "prompt/greet@v1",
        missing: "prompt/nope@latest",
        version: "model/chat@99",
        digest: `config/defaults@sha256:${"0".repeat(64)}`,
        foreign: "prompt/foreign@1",
        wrongkind: "model/greet@1",
      },
    });
    expect(res.status).toBe(422);
    expect(res.headers.get("content-type")).toMatch(/application\/problem\+json/);
    const problem = (await res.json()) as Problem;
    expect(problem.code).toBe("validation_failed");
    const byPath = Object.fromEntries(problem.errors!.map((e) => [e.path, e.message]));
    expect(Object.keys(byPath).sort()).toEqual(
      ["digest", "foreign", "kind", "missing", "name", "ref", "shape", "version", "wrongkind"].map((s) => `components.${s}`).sort(),
    );
    expect(byPath["components.shape"]).toMatch(/<kind>\/<name>@<ref>/);
    expect(byPath["components.kind"]).toMatch(/unknown kind "widget"/);
    expect(byPath["components.name"]).toMatch(/artifact name "Greet"/);
    expect(byPath["components.ref"]).toMatch(/ref "v1"/);
    expect(byPath["components.missing"]).toMatch(/prompt\/nope@latest does not resolve/);
    expect(byPath["components.version"]).toMatch(/model\/chat@99 does not resolve/);
    expect(byPath["components.foreign"]).toMatch(/prompt\/foreign@1 does not resolve: .* project demo/);
    expect(problem.detail).toMatch(/9 component reference\(s\)/);
    expect((await listAll("demo")).length).toBe(before);
  });

  it.each([
    ["another project's artifact", { components: { p: "prompt/foreign@latest" } }, "components.p", /does not resolve/],
    ["an unknown artifact", { components: { p: "prompt/ghost@1" } }, "components.p", /does not resolve/],
    ["an unknown kind", { components: { p: "agent/greet@1" } }, "components.p", /unknown kind "agent"/],
    ["a malformed reference", { components: { p: "prompt/greet" } }, "components.p", /must be <kind>\/<name>@<ref>/],
  ])("answers 422 for %s", async (_label, body, path, message) => {
    const res = await create(body);
    expect(res.status).toBe(422);
    const problem = (await res.json()) as Problem;
    expect(problem.errors).toEqual([{ path, message: expect.stringMatching(message) }]);
  });

  it.each([
    ["no components", { components: {} }, "body.components"],
    ["no components field", { code: { repo: "r", commit: "c" } }, "body.components"],
    ["a bad slot name", { components: { "Bad Slot": "prompt/greet@1" } }, "body.components.Bad Slot"],
    ["a non-string reference", { components: { p: 3 } }, "body.components.p"],
    ["too many slots", { components: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`s${i}`, "prompt/greet@1"])) }, "body.components"],
    ["an empty commit", { components: { p: "prompt/greet@1" }, code: { repo: "r", commit: "" } }, "body.code.commit"],
    ["a commit over 128 characters", { components: { p: "prompt/greet@1" }, code: { repo: "r", commit: "a".repeat(129) } }, "body.code.commit"],
    ["code without repo", { components: { p: "prompt/greet@1" }, code: { commit: "abc" } }, "body.code.repo"],
    ["an unknown field", { components: { p: "prompt/greet@1" }, tags: ["x"] }, "body"],
    ["a description over 1024 characters", { components: { p: "prompt/greet@1" }, description: "x".repeat(1025) }, "body.description"],
  ])("answers 400 for %s", async (_label, body, path) => {
    const before = (await listAll("demo")).length;
    const res = await create(body);
    expect(res.status).toBe(400);
    const problem = (await res.json()) as Problem;
    expect(problem.code).toBe("validation_failed");
    expect(problem.errors!.map((e) => e.path)).toContain(path);
    expect((await listAll("demo")).length).toBe(before);
  });

  it("answers 404 for unknown sets and projects, 400 for malformed ids", async () => {
    const unknown = `vs_${"0".repeat(24)}`;
    const known = await createOk({ components: { p: "prompt/greet@2" } });
    for (const path of [`/v1/projects/demo/version-sets/${unknown}`, `/v1/projects/demo/version-sets/${unknown}/bundle`]) {
      const res = await t.request("GET", path);
      expect(res.status).toBe(404);
      expect(((await res.json()) as Problem).code).toBe("not_found");
    }
    // A set exists only in its own project.
    expect((await t.request("GET", `/v1/projects/other/version-sets/${known.id}`)).status).toBe(404);
    for (const [method, path] of [
      ["GET", "/v1/projects/nope/version-sets"],
      ["GET", `/v1/projects/nope/version-sets/${known.id}`],
      ["GET", `/v1/projects/nope/version-sets/${known.id}/bundle`],
      ["GET", `/v1/projects/nope/diff?from=${known.id}&to=${known.id}`],
    ] as const) {
      expect((await t.request(method, path)).status, path).toBe(404);
    }
    const createInUnknown = await create({ components: { p: "prompt/greet@1" } }, "nope");
    expect(createInUnknown.status).toBe(404);

    for (const bad of ["vs_123", `vs_${"A".repeat(24)}`, `${known.id}0`, "latest", known.id.slice(3)]) {
      for (const path of [`/v1/projects/demo/version-sets/${bad}`, `/v1/projects/demo/version-sets/${bad}/bundle`]) {
        const res = await t.request("GET", path);
        expect(res.status, path).toBe(400);
        expect(((await res.json()) as Problem).errors![0]!.path).toBe("params.id");
      }
    }
  });

  it("lists sets newest first, paginated", async () => {
    await publish("paging", "prompt", "greet", content.prompt("one {{question}}"));
    await publish("paging", "prompt", "greet", content.prompt("two {{question}}"));
    await publish("paging", "model", "chat", content.model());
    const made: string[] = [];
    for (const body of [{ p: "prompt/greet@1" }, { p: "prompt/greet@2" }, { m: "model/chat@1" }]) {
      made.push((await createOk({ components: body }, "paging")).id);
    }
    const first = await (await t.request("GET", "/v1/projects/paging/version-sets?limit=2")).json();
    expect(first.items.map((s: SetJson) => s.id)).toEqual([made[2], made[1]]);
    expect(first.items[0].summary).toEqual({ model_v: "m=chat@1" });
    expect(first.next_cursor).toEqual(expect.any(String));
    const rest = await (await t.request("GET", `/v1/projects/paging/version-sets?limit=2&cursor=${first.next_cursor}`)).json();
    expect(rest).toMatchObject({ items: [{ id: made[0] }], next_cursor: null });
    const bad = await t.request("GET", "/v1/projects/paging/version-sets?cursor=garbage");
    expect(bad.status).toBe(400);
    expect((await (await t.request("GET", "/v1/projects/other/version-sets")).json()).items).toEqual([]);
  });

  it("bundles every component's content inline, index files with download urls, the same bytes each time", async () => {
    const set = await createOk({ components: { kb: "index/docs@1", sys: "prompt/greet@2", llm: "model/chat@1" } });
    const res = await t.request("GET", `/v1/projects/demo/version-sets/${set.id}/bundle`);
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe(`"${set.id}"`);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const text = await res.text();
    const bundle = JSON.parse(text);
    expect(bundle).toMatchObject({ id: set.id, code: null, summary: set.summary, created_at: set.created_at });
    expect(bundle.components.sys).toEqual({ ...published.greet2, content: content.prompt("Hello {{question}}\nBe brief.\n") });
    expect(bundle.components.llm).toEqual({ ...published.chat1, content: content.model({ temperature: 0.2 }) });
    expect(bundle.components.kb).toMatchObject({ ...published.docs1, content: indexOf([FILE_A, FILE_B], ["a.txt", "b.txt"], { embedder: "e5", chunk: 512 }) });
    expect(bundle.components.kb.files).toEqual([
      { path: "a.txt", digest: sha256Digest(FILE_A), size: FILE_A.length, url: `/v1/projects/demo/blobs/${sha256Digest(FILE_A)}` },
      { path: "b.txt", digest: sha256Digest(FILE_B), size: FILE_B.length, url: `/v1/projects/demo/blobs/${sha256Digest(FILE_B)}` },
    ]);
    const blob = await t.request("GET", bundle.components.kb.files[1].url);
    expect(Buffer.from(await blob.arrayBuffer())).toEqual(FILE_B);

    const again = await t.request("GET", `/v1/projects/demo/version-sets/${set.id}/bundle`);
    expect(await again.text()).toBe(text);
    const { json, etag } = await t.pinset.services.versionSets.bundleBytes("demo", set.id);
    expect(json).toBe(text);
    expect(etag).toBe(`"${set.id}"`);
    // The cached view is shared: it is frozen so no caller can change what resolve serves.
    const view = await t.pinset.services.versionSets.bundle("demo", set.id);
    expect(Object.isFrozen(view.components.kb!.content)).toBe(true);
  });

  it("diffs two sets slot by slot with each kind's detail", async () => {
    const from = await createOk({
      components: {
        sys: "prompt/greet@1",
        out: "contract/answer@1",
        llm: "model/chat@1",
        kb: "index/docs@1",
        tools: "tools/support@1",
        cfg: "config/defaults@1",
        same: "prompt/greet@2",
        gone: "model/chat@2",
      },
    });
    const to = await createOk({
      components: {
        sys: "prompt/greet@2",
        out: "contract/answer@2",
        llm: "model/chat@2",
        kb: "index/docs@2",
        tools: "tools/support@2",
        cfg: "config/defaults@2",
        same: "prompt/greet@2",
        fresh: "config/defaults@1",
      },
    });
    const res = await t.request("GET", `/v1/projects/demo/diff?from=${from.id}&to=${to.id}`);
    expect(res.status).toBe(200);
    const diff = await res.json();
    expect(diff.from).toBe(from.id);
    expect(diff.to).toBe(to.id);
    const bySlot = Object.fromEntries(diff.components.map((c: { slot: string }) => [c.slot, c]));
    expect(diff.components.map((c: { slot: string }) => c.slot)).toEqual(["cfg", "fresh", "gone", "kb", "llm", "out", "same", "sys", "tools"]);

    expect(bySlot.fresh).toEqual({ slot: "fresh", change: "added", from: null, to: published.defaults1, detail: null });
    expect(bySlot.gone).toEqual({ slot: "gone", change: "removed", from: published.chat2, to: null, detail: null });
    expect(bySlot.same).toEqual({ slot: "same", change: "unchanged", from: published.greet2, to: published.greet2, detail: null });

    expect(bySlot.sys).toMatchObject({ change: "changed", from: published.greet1, to: published.greet2 });
    expect(bySlot.sys.detail.unified).toMatch(/^--- /m);
    expect(bySlot.sys.detail.unified).toMatch(/^\+\+\+ /m);
    expect(bySlot.sys.detail.unified).toMatch(/^@@ /m);
    expect(bySlot.sys.detail.unified).toMatch(/^-Be kind\.$/m);
    expect(bySlot.sys.detail.unified).toMatch(/^\+Be brief\.$/m);

    expect(bySlot.out.change).toBe("changed");
    expect(bySlot.out.detail.breaking).toBe(true);
    expect(bySlot.out.detail.changes).toContainEqual(expect.objectContaining({ breaking: true, path: expect.stringMatching(/required/) }));

    expect(bySlot.llm.detail).toEqual({ changes: [{ field: "params.temperature", from: 0.2, to: 0.7 }] });

    expect(bySlot.kb.detail).toEqual({
      files: { added: ["c.txt"], removed: ["a.txt"], changed: ["b.txt"] },
      metadata: [{ field: "chunk", from: 512, to: 256 }],
    });

    expect(bySlot.tools.detail.added).toEqual(["escalate"]);
    expect(bySlot.tools.detail.removed).toEqual([]);
    expect(bySlot.tools.detail.changed).toEqual([expect.objectContaining({ name: "search", breaking: true })]);

    expect(bySlot.cfg.detail).toEqual({
      added: ["region"],
      removed: ["timeout_ms"],
      changed: [{ key: "retries", from: 3, to: 5 }],
    });

    const same = await (await t.request("GET", `/v1/projects/demo/diff?from=${from.id}&to=${from.id}`)).json();
    expect(same.components.every((c: { change: string }) => c.change === "unchanged")).toBe(true);
  });

  it("answers 400 for malformed diff ids and 404 naming unknown sets", async () => {
    const known = await createOk({ components: { p: "prompt/greet@1" } });
    for (const query of [`from=vs_1&to=${known.id}`, `from=${known.id}`, `to=${known.id}`, "", `from=${known.id}&to=${known.id.toUpperCase()}`]) {
      const res = await t.request("GET", `/v1/projects/demo/diff?${query}`);
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as Problem).code).toBe("validation_failed");
    }
    const unknown = `vs_${"f".repeat(24)}`;
    const res = await t.request("GET", `/v1/projects/demo/diff?from=${known.id}&to=${unknown}`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as Problem).detail).toContain(unknown);
    expect((await t.request("GET", `/v1/projects/demo/diff?from=${unknown}&to=${known.id}`)).status).toBe(404);
  });

  it("needs publish to create and read for everything else", async () => {
    const set = await createOk({ components: { p: "prompt/greet@1" } });
    const asReader = (method: string, path: string, body?: unknown) => t.request(method, path, { token: READ_TOKEN, ...(body ? { body } : {}) });
    const refused = await asReader("POST", "/v1/projects/demo/version-sets", { components: { p: "prompt/greet@2" } });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as Problem).code).toBe("forbidden");
    for (const path of [
      "/v1/projects/demo/version-sets",
      `/v1/projects/demo/version-sets/${set.id}`,
      `/v1/projects/demo/version-sets/${set.id}/bundle`,
      `/v1/projects/demo/diff?from=${set.id}&to=${set.id}`,
    ]) {
      expect((await asReader("GET", path)).status, path).toBe(200);
    }
    // The reader's token does not name project `other`: it cannot tell the project exists.
    expect((await asReader("GET", "/v1/projects/other/version-sets")).status).toBe(404);
    expect((await t.request("GET", "/v1/projects/demo/version-sets", { token: null })).status).toBe(401);
  });
});
