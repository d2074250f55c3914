import { describe, expect, it } from "vitest";
import { PublishQueueTimeout, type ArtifactStore } from "../../src/artifacts/ports.js";
import { ArtifactService } from "../../src/artifacts/service.js";
import { ConflictError } from "../../src/core/errors.js";
import { content, sha256Digest } from "../support/builders.js";
import { actor, bytesOf, publishServices } from "../support/publish-services.js";

const key = { project: "shop", kind: "model" as const, name: "chat" };

async function withProject() {
  const s = publishServices();
  await s.projects.ensure(actor, "shop", null);
  return s;
}

/** The same service over another store (a wrapper that misbehaves on purpose). */
function serviceWith(s: ReturnType<typeof publishServices>, store: ArtifactStore) {
  return new ArtifactService({
    store,
    projects: s.projects,
    blobs: s.links,
    audit: s.audit,
    outbox: s.outbox,
    transactions: s.tables,
    schemas: { limitErrors: () => [], compile: async () => [] },
    writeBudgetMs: 5_000,
  });
}

describe("ArtifactService (memory stores)", () => {
  it("answers 404 for an unknown project before looking at the content", async () => {
    const s = publishServices();
    await expect(s.artifacts.publish(actor, key, { content: "not even an object", annotations: {} })).rejects.toMatchObject({ status: 404 });
    await expect(s.artifacts.getJson(key, { by: "latest" })).rejects.toMatchObject({ status: 404, message: "Project shop not found" });
    await expect(s.artifacts.list(key, { limit: 10 })).rejects.toMatchObject({ status: 404, message: "Project shop not found" });
    await expect(s.catalog.list("shop", { limit: 10 })).rejects.toMatchObject({ status: 404 });
  });

  it("publishes version 1 with its audit entry and webhook event; identical content (any key order) is the same version, recorded once", async () => {
    const s = await withProject();
    const first = await s.artifacts.publish(actor, key, { content: content.model({ a: 1, b: 2 }), annotations: { team: "x" } });
    expect(first).toMatchObject({ created: true, artifact: { kind: "model", name: "chat", version: 1, annotations: { team: "x" } } });
    const again = await s.artifacts.publish(actor, key, { content: { ...content.model({ b: 2, a: 1 }) }, annotations: {} });
    expect(again).toEqual({ created: false, artifact: first.artifact });
    const next = await s.artifacts.publish(actor, key, { content: content.model({ a: 3 }), annotations: {} });
    expect(next.artifact.version).toBe(2);
    const entries = await s.audit.list({ action: "artifact.publish", limit: 10 });
    expect(entries.map((e) => [e.target, e.actor, (e.after as { version: number }).version])).toEqual([
      ["model/chat@2", "ci", 2],
      ["model/chat@1", "ci", 1],
    ]);
    expect(s.outbox.events().map((e) => [e.event, (e.data as { version: number }).version])).toEqual([
      ["artifact.published", 1],
      ["artifact.published", 2],
    ]);
    expect(JSON.parse(await s.artifacts.getJson(key, { by: "version", version: 1 }))).toMatchObject({ version: 1, content: content.model({ a: 1, b: 2 }) });
  });

  it("refuses invalid content with 422 and stores nothing", async () => {
    const s = await withProject();
    await expect(s.artifacts.publish(actor, key, { content: { provider: 1 }, annotations: {} })).rejects.toMatchObject({ status: 422 });
    await expect(s.artifacts.publish(actor, key, { content: { ...content.model(), x: "\uD800" }, annotations: {} })).rejects.toMatchObject({ status: 422 });
    await expect(s.artifacts.list(key, { limit: 10 })).rejects.toMatchObject({ status: 404 });
    expect(await s.audit.list({ action: "artifact.publish", limit: 10 })).toEqual([]);
  });

  it("writes nothing when a step of the publish transaction fails (version, audit entry and event commit together)", async () => {
    const s = await withProject();
    s.outbox.failWith = new Error("outbox down");
    await expect(s.artifacts.publish(actor, key, { content: content.model(), annotations: {} })).rejects.toThrow("outbox down");
    expect(await s.artifactStore.find(key, { by: "latest" })).toBeUndefined();
    expect(await s.audit.list({ action: "artifact.publish", limit: 10 })).toEqual([]);
    s.outbox.failWith = undefined;
    expect((await s.artifacts.publish(actor, key, { content: content.model(), annotations: {} })).artifact.version).toBe(1);
  });

  it("publishes an index only over blobs the project uploaded, with their sizes, and records its references", async () => {
    const s = await withProject();
    const data = "hello index";
    const digest = sha256Digest(data);
    const index = { files: [{ path: "a.txt", digest, size: data.length }] };
    const docs = { project: "shop", kind: "index" as const, name: "docs" };
    await expect(s.artifacts.publish(actor, docs, { content: index, annotations: {} })).rejects.toMatchObject({
      status: 422,
      errors: [{ path: "content.files[0].digest" }],
    });
    await s.blobs.upload(actor, { project: "shop", digest, body: bytesOf(data) });
    await expect(s.artifacts.publish(actor, docs, { content: { files: [{ ...index.files[0]!, size: 3 }] }, annotations: {} })).rejects.toMatchObject({
      status: 422,
      errors: [{ path: "content.files[0].size" }],
    });
    const published = await s.artifacts.publish(actor, docs, { content: index, annotations: {} });
    expect(await s.artifactStore.blobReferences({ ...docs, version: published.artifact.version })).toEqual([digest]);
  });

  it("revives blobs a collection claimed while their bytes are still stored, and refuses (422) when they are gone", async () => {
    const s = await withProject();
    const data = "claimed bytes";
    const digest = sha256Digest(data);
    await s.blobs.upload(actor, { project: "shop", digest, body: bytesOf(data) });
    const index = (path: string) => ({ files: [{ path, digest, size: data.length }] });
    s.links.markClaimed(digest);
    const revived = await s.artifacts.publish(actor, { project: "shop", kind: "index", name: "docs" }, { content: index("a.txt"), annotations: {} });
    expect(revived.created).toBe(true);
    expect(await s.links.findLinked("shop", digest)).toEqual({ size: data.length });

    s.links.markClaimed(digest);
    s.bytes.objects.clear();
    await expect(s.artifacts.publish(actor, { project: "shop", kind: "index", name: "docs" }, { content: index("b.txt"), annotations: {} })).rejects.toMatchObject({
      status: 422,
      errors: [{ path: "content.files[0].digest", message: expect.stringContaining("collected") }],
    });
    expect((await s.artifactStore.find({ project: "shop", kind: "index", name: "docs" }, { by: "latest" }))?.version).toBe(1);
  });

  it("retries a collision with a writer that skips the name lock, and answers 409 when it keeps colliding", async () => {
    const s = await withProject();
    let collisions = 1;
    const flaky: ArtifactStore = Object.assign(Object.create(s.artifactStore) as ArtifactStore, {
      insertNextVersion: (...args: Parameters<ArtifactStore["insertNextVersion"]>) =>
        collisions-- > 0 ? Promise.reject(new ConflictError("collided")) : s.artifactStore.insertNextVersion(...args),
    });
    expect((await serviceWith(s, flaky).publish(actor, key, { content: content.model(), annotations: {} })).created).toBe(true);
    collisions = 10;
    await expect(serviceWith(s, flaky).publish(actor, key, { content: content.model({ t: 1 }), annotations: {} })).rejects.toBeInstanceOf(ConflictError);
    expect(collisions).toBe(7);
  });

  it("answers 503 with retry-after when the publishes queued on the name do not finish in time", async () => {
    const s = await withProject();
    const stuck: ArtifactStore = Object.assign(Object.create(s.artifactStore) as ArtifactStore, {
      lockName: () => Promise.reject(new PublishQueueTimeout(4_000)),
    });
    await expect(serviceWith(s, stuck).publish(actor, key, { content: content.model(), annotations: {} })).rejects.toMatchObject({
      status: 503,
      code: "unavailable",
      headers: { "retry-after": "1" },
    });
  });

  it("lists versions newest first in pages, and the catalog one entry per name", async () => {
    const s = await withProject();
    for (const t of [1, 2, 3]) await s.artifacts.publish(actor, key, { content: content.model({ t }), annotations: {} });
    await s.artifacts.publish(actor, { project: "shop", kind: "prompt", name: "greet" }, { content: content.prompt(), annotations: {} });
    const page1 = await s.artifacts.list(key, { limit: 2 });
    expect(page1.items.map((v) => v.version)).toEqual([3, 2]);
    const page2 = await s.artifacts.list(key, { limit: 2, cursor: page1.next_cursor! });
    expect(page2).toEqual({ items: [expect.objectContaining({ version: 1 })], next_cursor: null });
    await expect(s.artifacts.getJson(key, { by: "version", version: 9 })).rejects.toMatchObject({ status: 404, message: "Artifact model/chat@9 not found" });
    const catalog = await s.catalog.list("shop", { limit: 1 });
    expect(catalog.items.map((a) => `${a.kind}/${a.name}@${a.version}`)).toEqual(["model/chat@3"]);
    const rest = await s.catalog.list("shop", { limit: 1, cursor: catalog.next_cursor! });
    expect(rest).toEqual({ items: [expect.objectContaining({ kind: "prompt", name: "greet" })], next_cursor: null });
    await expect(s.catalog.list("shop", { limit: 1, cursor: "garbage" })).rejects.toMatchObject({ status: 400 });
  });

  it("encodes a version with its stored canonical content spliced in: the view's fields in order, content keys in canonical order", async () => {
    const s = await withProject();
    const config = { project: "shop", kind: "config" as const, name: "app" };
    await s.artifacts.publish(actor, config, { content: { values: { b: "ü\n", a: [1, 2.5, null], "10": true, "2": { z: 1 } } }, annotations: { team: "x" } });
    const json = await s.artifacts.getJson(config, { by: "version", version: 1 });
    const view = JSON.parse(json) as Record<string, unknown>;
    expect(view).toMatchObject({ kind: "config", name: "app", version: 1, annotations: { team: "x" }, content: { values: { b: "ü\n", a: [1, 2.5, null], "10": true, "2": { z: 1 } } } });
    expect(Object.keys(view)).toEqual(["kind", "name", "version", "digest", "size", "created_at", "annotations", "content"]);
    // The canonical text as stored (RFC 8785 orders keys by code unit: "10" before "2").
    expect(json).toContain(`"content":{"values":{"10":true,"2":{"z":1},"a":[1,2.5,null],"b":"ü\\n"}}}`);
    expect(json.endsWith("}}}")).toBe(true);
    await expect(s.artifacts.getJson(config, { by: "version", version: 2 })).rejects.toMatchObject({ status: 404 });
  });
});
