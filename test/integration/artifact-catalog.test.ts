import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { content } from "../support/builders.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";
import { createToken } from "../support/tokens.js";

interface Entry {
  kind: string;
  name: string;
  version: number;
  digest: string;
  size: number;
  created_at: string;
  annotations: Record<string, string>;
}
interface Page {
  items: Entry[];
  next_cursor: string | null;
}

/** GET /v1/projects/{p}/artifacts: every artifact of a project, once, as its latest version. */
describe.each(backends())("artifact catalog on $name", (backend) => {
  let t: TestApp;
  const latest: Record<string, Entry> = {};

  const publish = async (project: string, kind: string, name: string, body: unknown, annotations?: Record<string, string>) => {
    const res = await t.request("POST", `/v1/projects/${project}/artifacts/${kind}/${name}`, { body: { content: body, ...(annotations ? { annotations } : {}) } });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    const entry = (await res.json()) as Entry;
    latest[`${project}:${kind}/${name}`] = entry;
    return entry;
  };
  const list = async (query = "", token?: string | null) => {
    const res = await t.request("GET", `/v1/projects/cat/artifacts${query}`, token !== undefined ? { token } : {});
    return { status: res.status, body: (await res.json()) as Page & { code?: string; errors?: { path: string; message: string }[] } };
  };
  const key = (e: Entry) => `${e.kind}/${e.name}`;

  beforeAll(async () => {
    t = await startTestApp(backend);
    for (const p of ["cat", "cat-other", "cat-empty"]) expect((await t.request("PUT", `/v1/projects/${p}`)).status).toBe(201);
    await publish("cat", "prompt", "support-answer", content.prompt("v1 {{question}}"));
    await publish("cat", "prompt", "support-answer", content.prompt("v2 {{question}}"));
    await publish("cat", "prompt", "support-answer", content.prompt("v3 {{question}}"), { git: "abc123" });
    await publish("cat", "prompt", "support_triage", content.prompt("triage {{question}}"));
    await publish("cat", "prompt", "supportx", content.prompt("x {{question}}"));
    await publish("cat", "model", "chat", content.model({ temperature: 0.2 }));
    await publish("cat", "model", "chat", content.model({ temperature: 0.7 }));
    await publish("cat", "config", "flags", content.config({ retries: 3 }));
    await publish("cat", "contract", "answer", content.contract());
    // Another project's artifact of the same kind and name must never show.
    await publish("cat-other", "model", "chat", content.model({ temperature: 0.9 }));
  }, 120_000);
  afterAll(async () => t?.close());

  it("lists each artifact once with its latest version, digest, size, time and annotations, by kind then name", async () => {
    const { status, body } = await list();
    expect(status).toBe(200);
    expect(body.next_cursor).toBeNull();
    expect(body.items.map(key)).toEqual(["config/flags", "contract/answer", "model/chat", "prompt/support-answer", "prompt/support_triage", "prompt/supportx"]);
    for (const item of body.items) expect(item).toEqual(latest[`cat:${key(item)}`]);
    expect(body.items.find((i) => i.name === "support-answer")).toMatchObject({ version: 3, annotations: { git: "abc123" } });
    expect(body.items.find((i) => i.name === "chat")).toMatchObject({ version: 2 });
    expect(body.items[0]).not.toHaveProperty("content");
  });

  it("filters by kind and by name prefix (literally: _ and . are not wildcards)", async () => {
    expect((await list("?kind=prompt")).body.items.map(key)).toEqual(["prompt/support-answer", "prompt/support_triage", "prompt/supportx"]);
    expect((await list("?kind=model")).body.items.map((i) => [key(i), i.version])).toEqual([["model/chat", 2]]);
    expect((await list("?prefix=support")).body.items.map(key)).toEqual(["prompt/support-answer", "prompt/support_triage", "prompt/supportx"]);
    expect((await list("?prefix=support_")).body.items.map(key)).toEqual(["prompt/support_triage"]);
    expect((await list("?prefix=support-a&kind=prompt")).body.items.map(key)).toEqual(["prompt/support-answer"]);
    expect((await list("?prefix=support&kind=model")).body.items).toEqual([]);
    expect((await list("?kind=tools")).body).toEqual({ items: [], next_cursor: null });
  });

  it("pages with limit and cursor, meeting every artifact exactly once even while names are republished", async () => {
    const first = await list("?limit=2");
    expect(first.body.items.map(key)).toEqual(["config/flags", "contract/answer"]);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    // A publish between pages moves nothing: the order is by name, not by time.
    await publish("cat", "config", "flags", content.config({ retries: 4 }));
    await publish("cat", "prompt", "supportx", content.prompt("x2 {{question}}"));
    const second = await list(`?limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.items.map(key)).toEqual(["model/chat", "prompt/support-answer"]);
    const third = await list(`?limit=2&cursor=${second.body.next_cursor}`);
    expect(third.body.items.map((i) => [key(i), i.version])).toEqual([["prompt/support_triage", 1], ["prompt/supportx", 2]]);
    expect(third.body.next_cursor).toBeNull();
    const filtered = await list("?kind=prompt&limit=1");
    const rest = await list(`?kind=prompt&limit=5&cursor=${filtered.body.next_cursor}`);
    expect([...filtered.body.items, ...rest.body.items].map(key)).toEqual(["prompt/support-answer", "prompt/support_triage", "prompt/supportx"]);
  });

  it("answers an empty project with no items", async () => {
    const res = await t.request("GET", "/v1/projects/cat-empty/artifacts");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ items: [], next_cursor: null });
  });

  it.each([
    ["?kind=widget", "query.kind"],
    ["?kind=", "query.kind"],
    ["?kind=prompt&kind=model", "query.kind"],
    ["?prefix=", "query.prefix"],
    ["?prefix=Support", "query.prefix"],
    ["?prefix=.hidden", "query.prefix"],
    ["?prefix=a%25", "query.prefix"],
    [`?prefix=${"a".repeat(129)}`, "query.prefix"],
    ["?limit=0", "query.limit"],
    ["?limit=501", "query.limit"],
    ["?limit=two", "query.limit"],
    ["?cursor=not-a-cursor", "query.cursor"],
    [`?cursor=${Buffer.from(JSON.stringify({ p: 5 })).toString("base64url")}`, "query.cursor"],
    [`?cursor=${Buffer.from(JSON.stringify({ k: "widget", n: "x" })).toString("base64url")}`, "query.cursor"],
    [`?cursor=${Buffer.from(JSON.stringify({ k: "prompt", n: "'); drop table artifacts; --" })).toString("base64url")}`, "query.cursor"],
  ])("refuses %s with 400 validation_failed naming %s", async (query, path) => {
    const { status, body } = await list(query);
    expect(status, JSON.stringify(body)).toBe(400);
    expect(body.code).toBe("validation_failed");
    expect(body.errors?.map((e) => e.path)).toContain(path);
  });

  it("is 404 for a project that does not exist and for a token of another project; a read token of the project may list", async () => {
    const missing = await t.request("GET", "/v1/projects/nope/artifacts");
    expect(missing.status).toBe(404);
    expect((await missing.json()).code).toBe("not_found");
    const other = await createToken(t, { scopes: ["publish"], projects: ["cat-other"] });
    const hidden = await list("", other.token);
    expect(hidden.status).toBe(404);
    expect(JSON.stringify(hidden.body)).not.toContain("support");
    const reader = await createToken(t, { scopes: ["read"], projects: ["cat"] });
    const seen = await list("?kind=model", reader.token);
    expect(seen.status).toBe(200);
    expect(seen.body.items.map(key)).toEqual(["model/chat"]);
    expect((await list("", null)).status).toBe(401);
  });
});
