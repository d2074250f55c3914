import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { blobKey } from "../../src/blobs/keys.js";
import { BlobService } from "../../src/blobs/service.js";
import { sha256Digest } from "../support/builders.js";
import { actor, bytesOf, publishServices } from "../support/publish-services.js";

const DATA = "some bytes";
const DIGEST = sha256Digest(DATA);
const whole = () => ({ kind: "none" }) as const;

async function read(stream: Readable | undefined): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream!) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString();
}

async function withProjects() {
  const s = publishServices({ maxBlobBytes: 64 });
  for (const name of ["shop", "other"]) await s.projects.ensure(actor, name, null);
  return s;
}

describe("BlobService (memory stores)", () => {
  it("answers 404 for an unknown project on every path, before reading a body", async () => {
    const s = publishServices();
    const body = (async function* () {
      throw new Error("the body must not be read");
    })();
    await expect(s.blobs.upload(actor, { project: "ghost", digest: DIGEST, body })).rejects.toMatchObject({ status: 404 });
    await expect(s.blobs.head("ghost", DIGEST)).rejects.toMatchObject({ status: 404, message: "Project ghost not found" });
    await expect(s.blobs.open("ghost", DIGEST, { range: whole, clientHasIt: true })).rejects.toMatchObject({ status: 404 });
  });

  it("stores a blob once per project (201 then 200), audits the link, and serves it to that project only", async () => {
    const s = await withProjects();
    expect(await s.blobs.upload(actor, { project: "shop", digest: DIGEST, body: bytesOf(DATA) })).toEqual({ created: true, digest: DIGEST, size: DATA.length });
    expect(await s.blobs.upload(actor, { project: "shop", digest: DIGEST, body: bytesOf(DATA) })).toEqual({ created: false, digest: DIGEST, size: DATA.length });
    expect((await s.audit.list({ action: "blob.upload", limit: 10 })).map((e) => [e.project, e.target])).toEqual([["shop", `blob/${DIGEST}`]]);
    expect(await s.blobs.head("shop", DIGEST)).toEqual({ size: DATA.length });
    await expect(s.blobs.head("other", DIGEST)).rejects.toMatchObject({ status: 404 });
    const opened = await s.blobs.open("shop", DIGEST, { range: whole });
    expect(opened.notModified).toBe(false);
    if (!opened.notModified) expect(await read(opened.stream)).toBe(DATA);
    // Another project must send (and have hashed) the bytes to get a link of its own.
    expect((await s.blobs.upload(actor, { project: "other", digest: DIGEST, body: bytesOf(DATA) })).created).toBe(true);
  });

  it("refuses bytes that do not match the digest or exceed the limit, linking nothing", async () => {
    const s = await withProjects();
    await expect(s.blobs.upload(actor, { project: "shop", digest: DIGEST, body: bytesOf("other bytes") })).rejects.toMatchObject({ code: "digest_mismatch" });
    await expect(s.blobs.upload(actor, { project: "shop", digest: DIGEST, body: bytesOf(DATA), declaredLength: 65 })).rejects.toMatchObject({ status: 413 });
    await expect(s.blobs.head("shop", DIGEST)).rejects.toMatchObject({ status: 404 });
    expect(s.bytes.objects.size).toBe(0);
  });

  it("links nothing when the audit entry cannot be written", async () => {
    const s = await withProjects();
    const blobs = new BlobService({
      store: s.bytes,
      links: s.links,
      projects: s.projects,
      audit: { record: () => Promise.reject(new Error("audit down")) },
      transactions: s.tables,
      retired: s.artifactStore,
      maxBlobBytes: 64,
    });
    await expect(blobs.upload(actor, { project: "shop", digest: DIGEST, body: bytesOf(DATA) })).rejects.toThrow("audit down");
    await expect(s.blobs.head("shop", DIGEST)).rejects.toMatchObject({ status: 404 });
  });

  it("answers not-modified for the client's own etag without reading the blob, and picks a range once the size is known", async () => {
    const s = await withProjects();
    await s.blobs.upload(actor, { project: "shop", digest: DIGEST, body: bytesOf(DATA) });
    expect(await s.blobs.open("shop", sha256Digest("never uploaded"), { range: whole, clientHasIt: true })).toEqual({ notModified: true });
    const ranged = await s.blobs.open("shop", DIGEST, { range: (size) => ({ kind: "range", range: { start: 5, end: size - 1 } }) });
    if (ranged.notModified) throw new Error("expected bytes");
    expect(await read(ranged.stream)).toBe("bytes");
    const beyond = await s.blobs.open("shop", DIGEST, { range: () => ({ kind: "unsatisfiable" }) });
    expect(beyond).toEqual({ notModified: false, size: DATA.length, request: { kind: "unsatisfiable" } });
  });

  it("answers 410 naming the retired version when a collected blob belonged to one, 404 otherwise", async () => {
    const s = await withProjects();
    await s.blobs.upload(actor, { project: "shop", digest: DIGEST, body: bytesOf(DATA) });
    const docs = { project: "shop", kind: "index" as const, name: "docs" };
    await s.artifacts.publish(actor, docs, { content: { files: [{ path: "a.txt", digest: DIGEST, size: DATA.length }] }, annotations: {} });
    s.artifactStore.markRetired({ ...docs, version: 1 });
    s.links.markDeleted(DIGEST);
    await expect(s.blobs.head("shop", DIGEST)).rejects.toMatchObject({ status: 410, message: expect.stringContaining("index/docs@1") });
    await expect(s.blobs.head("other", DIGEST)).rejects.toMatchObject({ status: 404 });
  });

  it("stores the bytes again when an upload meets a blob claimed by a collection", async () => {
    const s = await withProjects();
    await s.blobs.upload(actor, { project: "shop", digest: DIGEST, body: bytesOf(DATA) });
    s.links.markClaimed(DIGEST);
    s.bytes.objects.delete(blobKey(DIGEST));
    await expect(s.blobs.head("shop", DIGEST)).rejects.toMatchObject({ status: 404 });
    expect((await s.blobs.upload(actor, { project: "shop", digest: DIGEST, body: bytesOf(DATA) })).created).toBe(false);
    expect(s.bytes.objects.has(blobKey(DIGEST))).toBe(true);
    expect(await s.blobs.head("shop", DIGEST)).toEqual({ size: DATA.length });
  });

  it("revives a claimed blob only while its bytes are stored", async () => {
    const s = await withProjects();
    await s.blobs.upload(actor, { project: "shop", digest: DIGEST, body: bytesOf(DATA) });
    s.links.markClaimed(DIGEST);
    await s.blobs.revive([DIGEST]);
    expect(await s.blobs.head("shop", DIGEST)).toEqual({ size: DATA.length });
    s.links.markClaimed(DIGEST);
    s.bytes.objects.delete(blobKey(DIGEST));
    await s.blobs.revive([DIGEST]);
    await expect(s.blobs.head("shop", DIGEST)).rejects.toMatchObject({ status: 404 });
  });

  it("says loudly when a recorded blob's bytes are missing from the store (500)", async () => {
    const s = await withProjects();
    await s.blobs.upload(actor, { project: "shop", digest: DIGEST, body: bytesOf(DATA) });
    s.bytes.objects.delete(blobKey(DIGEST));
    await expect(s.blobs.open("shop", DIGEST, { range: whole })).rejects.toMatchObject({ status: 500 });
  });
});
