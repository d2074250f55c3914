import { describe, expect, it } from "vitest";
import { content, sha256Digest } from "../support/builders.js";
import { actor, bytesOf, publishServices } from "../support/publish-services.js";
import { diffComponentContent } from "../../src/version-sets/diff/index.js";
import { VersionSetService } from "../../src/version-sets/service.js";

const DATA = "index bytes";
const DIGEST = sha256Digest(DATA);

/** A project with two versions of a model, one prompt and one index over an uploaded blob. */
async function seeded() {
  const s = publishServices();
  await s.projects.ensure(actor, "shop", null);
  await s.projects.ensure(actor, "other", null);
  for (const t of [0.1, 0.2]) await s.artifacts.publish(actor, { project: "shop", kind: "model", name: "chat" }, { content: content.model({ t }), annotations: {} });
  await s.artifacts.publish(actor, { project: "shop", kind: "prompt", name: "greet" }, { content: content.prompt(), annotations: {} });
  await s.blobs.upload(actor, { project: "shop", digest: DIGEST, body: bytesOf(DATA) });
  await s.artifacts.publish(actor, { project: "shop", kind: "index", name: "docs" }, { content: { files: [{ path: "a.txt", digest: DIGEST, size: DATA.length }] }, annotations: {} });
  return s;
}

describe("VersionSetService (memory stores)", () => {
  it("answers 404 for an unknown project on every client path; find, for callers inside the project, just finds nothing", async () => {
    const s = publishServices();
    const id = "vs_000000000000000000000000";
    await expect(s.versionSets.create(actor, "ghost", { components: { a: "prompt/x@latest" } })).rejects.toMatchObject({ status: 404, message: "Project ghost not found" });
    await expect(s.versionSets.get("ghost", id)).rejects.toMatchObject({ message: "Project ghost not found" });
    await expect(s.versionSets.list("ghost", { limit: 10 })).rejects.toMatchObject({ message: "Project ghost not found" });
    await expect(s.versionSets.diff("ghost", id, id)).rejects.toMatchObject({ message: "Project ghost not found" });
    await expect(s.versionSets.readBundle("ghost", id)).rejects.toMatchObject({ message: "Project ghost not found" });
    expect(await s.versionSets.find("ghost", id)).toBeUndefined();
  });

  it("pins every reference, audits the set and announces it; the same pins again are the same set, whatever the description", async () => {
    const s = await seeded();
    const first = await s.versionSets.create(actor, "shop", {
      components: { llm: "model/chat@latest", system: "prompt/greet@1" },
      code: { repo: "github.com/acme/bot", commit: "0123456789abcdef" },
      description: "first",
    });
    expect(first.created).toBe(true);
    expect(first.set).toMatchObject({
      components: { llm: { kind: "model", name: "chat", version: 2 }, system: { kind: "prompt", name: "greet", version: 1 } },
      code: { repo: "github.com/acme/bot", commit: "0123456789abcdef" },
      description: "first",
      summary: { code_v: "github.com/acme/bot@0123456789ab", model_v: "llm=chat@2", prompt_v: "system=greet@1" },
    });
    const digest = first.set.components.llm!.digest;
    const again = await s.versionSets.create(actor, "shop", {
      components: { llm: `model/chat@${digest}`, system: "prompt/greet@latest" },
      code: { repo: "github.com/acme/bot", commit: "0123456789abcdef" },
      description: "other words",
    });
    expect(again).toEqual({ created: false, set: first.set });
    expect((await s.audit.list({ action: "version_set.create", limit: 10 })).map((e) => e.target)).toEqual([`version_set/${first.set.id}`]);
    expect(s.outbox.events().filter((e) => e.event === "version_set.created").map((e) => (e.data as { id: string }).id)).toEqual([first.set.id]);
    expect(await s.versionSets.get("shop", first.set.id)).toEqual(first.set);
  });

  it("reports every slot that cannot be pinned at once (422), malformed and unresolved alike, in slot order", async () => {
    const s = await seeded();
    const refused = s.versionSets.create(actor, "shop", { components: { z: "model/chat@9", a: "nonsense", m: "prompt/foreign@latest", ok: "model/chat@1" } });
    await expect(refused).rejects.toMatchObject({
      status: 422,
      errors: [{ path: "components.a" }, { path: "components.m" }, { path: "components.z" }],
    });
    // Another project's artifacts do not resolve.
    await expect(s.versionSets.create(actor, "other", { components: { llm: "model/chat@1" } })).rejects.toMatchObject({ status: 422 });
    expect((await s.versionSets.list("shop", { limit: 10 })).items).toEqual([]);
  });

  it("writes no set when a step of its transaction fails", async () => {
    const s = await seeded();
    s.outbox.failWith = new Error("outbox down");
    await expect(s.versionSets.create(actor, "shop", { components: { llm: "model/chat@1" } })).rejects.toThrow("outbox down");
    expect((await s.versionSets.list("shop", { limit: 10 })).items).toEqual([]);
    expect(await s.audit.list({ action: "version_set.create", limit: 10 })).toEqual([]);
  });

  it("lists newest first in pages and answers 404 for an unknown set", async () => {
    const s = await seeded();
    const a = (await s.versionSets.create(actor, "shop", { components: { llm: "model/chat@1" } })).set;
    const b = (await s.versionSets.create(actor, "shop", { components: { llm: "model/chat@2" } })).set;
    const page1 = await s.versionSets.list("shop", { limit: 1 });
    expect(page1.items.map((v) => v.id)).toEqual([b.id]);
    expect((await s.versionSets.list("shop", { limit: 1, cursor: page1.next_cursor! })).items.map((v) => v.id)).toEqual([a.id]);
    await expect(s.versionSets.get("other", a.id)).rejects.toMatchObject({ status: 404, message: `Version set ${a.id} not found in project other` });
  });

  it("bundles the contents inline with each index file's download path; diffs two sets and names unknown ones", async () => {
    const s = await seeded();
    const a = (await s.versionSets.create(actor, "shop", { components: { llm: "model/chat@1", docs: "index/docs@1" } })).set;
    const b = (await s.versionSets.create(actor, "shop", { components: { llm: "model/chat@2", docs: "index/docs@1" } })).set;
    const bundle = JSON.parse((await s.versionSets.readBundle("shop", a.id)).json) as { components: Record<string, { content: unknown; files?: unknown }> };
    expect(bundle.components.llm!.content).toEqual(content.model({ t: 0.1 }));
    expect(bundle.components.docs!.files).toEqual([{ path: "a.txt", digest: DIGEST, size: DATA.length, url: `/v1/projects/shop/blobs/${DIGEST}` }]);
    const diff = await s.versionSets.diff("shop", a.id, b.id);
    expect(diff.components.map((c) => [c.slot, c.change])).toEqual([
      ["docs", "unchanged"],
      ["llm", "changed"],
    ]);
    const missing = "vs_ffffffffffffffffffffffff";
    await expect(s.versionSets.diff("shop", missing, a.id)).rejects.toMatchObject({ status: 404, message: `Version set(s) ${missing} not found in project shop` });
  });

  it("refuses (410) to pin, bundle or make reachable a version garbage collection retired", async () => {
    const s = await seeded();
    const live = (await s.versionSets.create(actor, "shop", { components: { llm: "model/chat@1" } })).set;
    const withDocs = (await s.versionSets.create(actor, "shop", { components: { llm: "model/chat@2", docs: "index/docs@1" } })).set;
    await s.tables.run((tx) => s.versionSets.assertSetsLive(tx, "shop", [live.id, withDocs.id]));
    s.artifactStore.markRetired({ project: "shop", kind: "index", name: "docs", version: 1 });
    s.versionSets.forgetBundles();
    await expect(s.versionSets.create(actor, "shop", { components: { docs: "index/docs@1" } })).rejects.toMatchObject({ status: 410 });
    await expect(s.versionSets.readBundle("shop", withDocs.id)).rejects.toMatchObject({ status: 410, message: expect.stringContaining("index/docs@1") });
    await expect(s.tables.run((tx) => s.versionSets.assertSetsLive(tx, "shop", [live.id, withDocs.id]))).rejects.toMatchObject({
      status: 410,
      message: expect.stringContaining(`Version set ${withDocs.id} of project shop pins index/docs@1`),
    });
    expect(await s.tables.run((tx) => s.versionSets.versionSetExists(tx, "shop", live.id))).toBe(true);
    expect(await s.tables.run((tx) => s.versionSets.versionSetExists(tx, "other", live.id))).toBe(false);
    // Sets pinning only live versions, or no sets at all, pass.
    await s.tables.run((tx) => s.versionSets.assertSetsLive(tx, "shop", [live.id]));
    await s.tables.run((tx) => s.versionSets.assertSetsLive(tx, "shop", []));
  });

  it("computes a diff once per pair and serves its encoding; gc's forget and a vanished set are seen at once", async () => {
    const s = await seeded();
    let computed = 0;
    const versionSets = new VersionSetService({
      store: s.versionSetStore,
      artifacts: s.artifactStore,
      projects: s.projects,
      audit: s.audit,
      outbox: s.outbox,
      transactions: s.tables,
      differ: (kind, from, to, options) => {
        computed++;
        return diffComponentContent(kind, from, to, options);
      },
    });
    const a = (await versionSets.create(actor, "shop", { components: { llm: "model/chat@1", docs: "index/docs@1" } })).set;
    const b = (await versionSets.create(actor, "shop", { components: { llm: "model/chat@2", docs: "index/docs@1" } })).set;
    const first = await versionSets.diff("shop", a.id, b.id);
    expect(computed).toBe(1);
    expect(await versionSets.diffJson("shop", a.id, b.id)).toBe(JSON.stringify(first));
    expect(await versionSets.diff("shop", a.id, b.id)).toBe(first);
    expect(computed).toBe(1);
    // The other direction is another answer.
    expect((await versionSets.diff("shop", b.id, a.id)).from).toBe(b.id);
    expect(computed).toBe(2);
    versionSets.forgetBundles();
    await versionSets.diff("shop", a.id, b.id);
    expect(computed).toBe(3);
    // The project and both sets are asked for every time, kept answer or not.
    await expect(versionSets.diff("other", a.id, b.id)).rejects.toMatchObject({ status: 404, message: `Version set(s) ${a.id}, ${b.id} not found in project other` });
  });
});
