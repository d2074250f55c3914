import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Digest } from "../support/builders.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";

describe.each(backends())("blobs on $name", (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend, { limits: { maxBlobBytes: 4 * 1024 * 1024 } });
    for (const p of ["alpha", "beta"]) expect((await t.request("PUT", `/v1/projects/${p}`)).status).toBe(201);
  });
  afterAll(async () => t?.close());

  const put = (project: string, digest: string, data: Uint8Array<ArrayBuffer>) =>
    t.request("PUT", `/v1/projects/${project}/blobs/${digest}`, { raw: data, headers: { "content-type": "application/octet-stream" } });

  it("stores a blob (201), then answers 200 for the same bytes again", async () => {
    const data = randomBytes(100_000);
    const digest = sha256Digest(data);
    const first = await put("alpha", digest, data);
    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({ digest, size: data.length });
    expect((await put("alpha", digest, data)).status).toBe(200);

    const head = await t.request("HEAD", `/v1/projects/alpha/blobs/${digest}`);
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(data.length));

    const got = await t.request("GET", `/v1/projects/alpha/blobs/${digest}`);
    expect(got.status).toBe(200);
    expect(sha256Digest(Buffer.from(await got.arrayBuffer()))).toBe(digest);
  });

  it("serves byte ranges with 206 and refuses ranges past the end with 416", async () => {
    const data = Buffer.from("The quick brown fox");
    const digest = sha256Digest(data);
    await put("alpha", digest, data);
    const part = await t.request("GET", `/v1/projects/alpha/blobs/${digest}`, { headers: { range: "bytes=4-8" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 4-8/${data.length}`);
    expect(await part.text()).toBe("quick");
    const suffix = await t.request("GET", `/v1/projects/alpha/blobs/${digest}`, { headers: { range: "bytes=-3" } });
    expect(await suffix.text()).toBe("fox");
    const past = await t.request("GET", `/v1/projects/alpha/blobs/${digest}`, { headers: { range: "bytes=100-" } });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-type")).toContain("application/problem+json");
  });

  it("answers 400 digest_mismatch and keeps nothing when the bytes hash differently", async () => {
    const data = randomBytes(50_000);
    const claimed = sha256Digest(Buffer.from("something else"));
    const res = await put("alpha", claimed, data);
    expect(res.status).toBe(400);
    const problem = await res.json();
    expect(problem).toMatchObject({ code: "digest_mismatch", status: 400 });
    expect(problem.trace_id).toBe(res.headers.get("x-trace-id"));
    expect((await t.request("HEAD", `/v1/projects/alpha/blobs/${claimed}`)).status).toBe(404);
    const rows = await t.db.handle.db.selectFrom("blobs").select("digest").where("digest", "=", claimed).execute();
    expect(rows).toEqual([]);
  });

  it("answers 413 over the blob size limit and keeps nothing", async () => {
    const data = randomBytes(5 * 1024 * 1024);
    const digest = sha256Digest(data);
    const res = await put("alpha", digest, data);
    expect(res.status).toBe(413);
    expect((await res.json()).code).toBe("payload_too_large");
    expect((await t.request("HEAD", `/v1/projects/alpha/blobs/${digest}`)).status).toBe(404);
  });

  it("never lets another project read a blob by knowing its digest", async () => {
    const data = randomBytes(1000);
    const digest = sha256Digest(data);
    expect((await put("alpha", digest, data)).status).toBe(201);
    expect((await t.request("GET", `/v1/projects/beta/blobs/${digest}`)).status).toBe(404);
    expect((await t.request("HEAD", `/v1/projects/beta/blobs/${digest}`)).status).toBe(404);
    // beta proves it holds the bytes by sending them: then it may read them, stored once.
    expect((await put("beta", digest, data)).status).toBe(201);
    expect((await t.request("GET", `/v1/projects/beta/blobs/${digest}`)).status).toBe(200);
    // …but claiming the digest with other bytes links nothing.
    const other = sha256Digest(randomBytes(10));
    const forged = await put("beta", other, data);
    expect(forged.status).toBe(400);
  });

  it("takes two concurrent uploads of one blob: one 201, one 200, one stored copy", async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const digest = sha256Digest(data);
    const results = await Promise.all([put("alpha", digest, data), put("alpha", digest, data)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 201]);
    const got = await t.request("GET", `/v1/projects/alpha/blobs/${digest}`);
    expect(sha256Digest(Buffer.from(await got.arrayBuffer()))).toBe(digest);
  });

  it("answers 400 for malformed digests and 404 for unknown projects", async () => {
    const bad = await t.request("PUT", "/v1/projects/alpha/blobs/sha256:XYZ", { raw: "x" });
    expect(bad.status).toBe(400);
    expect((await bad.json()).code).toBe("validation_failed");
    const traversal = await t.request("GET", "/v1/projects/alpha/blobs/..%2F..%2Fetc%2Fpasswd");
    expect(traversal.status).toBe(400);
    const data = Buffer.from("orphan");
    expect((await put("nope", sha256Digest(data), data)).status).toBe(404);
  });

  it("publishes an index only over blobs the project holds, with matching sizes", async () => {
    const data = randomBytes(300);
    const digest = sha256Digest(data);
    await put("alpha", digest, data);
    const ok = await t.request("POST", "/v1/projects/alpha/artifacts/index/kb", {
      body: { content: { files: [{ path: "docs/a.md", digest, size: data.length }] } },
    });
    expect(ok.status).toBe(201);
    const wrongSize = await t.request("POST", "/v1/projects/alpha/artifacts/index/kb", {
      body: { content: { files: [{ path: "docs/a.md", digest, size: 1 }] } },
    });
    expect(wrongSize.status).toBe(422);
    const missing = sha256Digest(randomBytes(8));
    const res = await t.request("POST", "/v1/projects/beta/artifacts/index/kb", {
      body: { content: { files: [{ path: "a.md", digest: missing, size: 8 }, { path: "b.md", digest, size: data.length }] } },
    });
    expect(res.status).toBe(422);
    const problem = await res.json();
    expect(problem.errors.map((e: { path: string }) => e.path)).toEqual(["content.files[0].digest", "content.files[1].digest"]);
  });

  it("counts blob bytes in and out in /metrics", async () => {
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/pinset_blob_bytes_in_total [1-9]/);
    expect(metrics).toMatch(/pinset_blob_bytes_out_total [1-9]/);
  });
});
