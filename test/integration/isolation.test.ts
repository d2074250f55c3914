/**
 * Tenant isolation: one project's tokens never see, read or reference another project's
 * resources, and knowing an id or digest is never enough. Answers are 404 (or 422 for a
 * reference inside a body), never 403, so a token cannot learn what exists elsewhere.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { content, sha256Digest } from "../support/builders.js";
import { tableCounts } from "../support/row-counts.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";
import { createToken, type CreatedToken } from "../support/tokens.js";

const secretBytes = "team-a confidential shard";
const secretDigest = sha256Digest(secretBytes);

describe.each(backends())("tenant isolation on $name", (backend) => {
  let t: TestApp;
  let a: CreatedToken;
  let b: CreatedToken;
  let aSet: string;
  let aPrompt: { digest: string };

  const as = (token: CreatedToken) => ({
    get: (path: string) => t.request("GET", path, { token: token.token }),
    head: (path: string) => t.request("HEAD", path, { token: token.token }),
    post: (path: string, body: unknown) => t.request("POST", path, { token: token.token, body }),
    put: (path: string, init: { body?: unknown; raw?: string } = {}) =>
      t.request("PUT", path, { token: token.token, ...init, ...(init.raw !== undefined ? { headers: { "content-type": "application/octet-stream" } } : {}) }),
  });

  beforeAll(async () => {
    t = await startTestApp(backend);
    for (const p of ["team-a", "team-b"]) expect((await t.request("PUT", `/v1/projects/${p}`)).status).toBe(201);
    a = await createToken(t, { name: "team a", scopes: ["publish", "deploy"], projects: ["team-a"] });
    b = await createToken(t, { name: "team b", scopes: ["publish", "deploy"], projects: ["team-b"] });
    expect((await as(a).put(`/v1/projects/team-a/blobs/${secretDigest}`, { raw: secretBytes })).status).toBe(201);
    const prompt = await as(a).post("/v1/projects/team-a/artifacts/prompt/system", { content: content.prompt("Team A secret {{question}}") });
    expect(prompt.status).toBe(201);
    aPrompt = await prompt.json();
    const set = await as(a).post("/v1/projects/team-a/version-sets", { components: { "prompt.system": "prompt/system@1" } });
    expect(set.status).toBe(201);
    aSet = (await set.json()).id;
  });
  afterAll(async () => t?.close());

  it("lists only the projects a token may see", async () => {
    const res = await as(b).get("/v1/projects");
    expect((await res.json()).items.map((p: { name: string }) => p.name)).toEqual(["team-b"]);
  });

  describe("blobs by digest", () => {
    it("does not let another project's token read or probe the bytes (404)", async () => {
      for (const res of [await as(b).get(`/v1/projects/team-a/blobs/${secretDigest}`), await as(b).head(`/v1/projects/team-a/blobs/${secretDigest}`)]) {
        expect(res.status).toBe(404);
      }
    });

    it("does not make the bytes readable in another project just because the digest is known", async () => {
      // Even an all-projects admin: the blob is not linked to team-b.
      expect((await t.request("GET", `/v1/projects/team-b/blobs/${secretDigest}`)).status).toBe(404);
      expect((await t.request("HEAD", `/v1/projects/team-b/blobs/${secretDigest}`)).status).toBe(404);
      expect((await as(b).get(`/v1/projects/team-b/blobs/${secretDigest}`)).status).toBe(404);
    });

    it("refuses to link the digest to another project without the bytes (digest_mismatch, nothing linked)", async () => {
      const before = await tableCounts(t);
      for (const raw of ["", "guess"]) {
        const res = await as(b).put(`/v1/projects/team-b/blobs/${secretDigest}`, { raw });
        expect(res.status).toBe(400);
        expect((await res.json()).code).toBe("digest_mismatch");
      }
      expect(await tableCounts(t)).toEqual(before);
      expect((await as(b).get(`/v1/projects/team-b/blobs/${secretDigest}`)).status).toBe(404);
    });

    it("refuses an index manifest referencing another project's blob with 422 naming it", async () => {
      const res = await as(b).post("/v1/projects/team-b/artifacts/index/kb", {
        content: { files: [{ path: "stolen.bin", digest: secretDigest, size: Buffer.byteLength(secretBytes) }] },
      });
      expect(res.status).toBe(422);
      const problem = await res.json();
      expect(problem.errors).toEqual([expect.objectContaining({ path: "content.files[0].digest", message: expect.stringContaining(secretDigest) })]);
    });

    it("links the blob to a project that uploads the same bytes itself", async () => {
      expect((await as(b).put(`/v1/projects/team-b/blobs/${secretDigest}`, { raw: secretBytes })).status).toBe(201);
      const res = await as(b).get(`/v1/projects/team-b/blobs/${secretDigest}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(secretBytes);
    });
  });

  describe("artifacts", () => {
    it("hides another project's artifacts (404), by name, version and digest", async () => {
      for (const path of [
        "/v1/projects/team-a/artifacts/prompt/system",
        "/v1/projects/team-a/artifacts/prompt/system/versions/1",
        `/v1/projects/team-a/artifacts/prompt/system/versions/${aPrompt.digest}`,
      ]) {
        expect((await as(b).get(path)).status, path).toBe(404);
      }
      // The same name in team-b is a different artifact: none exists there.
      expect((await as(b).get("/v1/projects/team-b/artifacts/prompt/system/versions/latest")).status).toBe(404);
      expect((await as(b).get(`/v1/projects/team-b/artifacts/prompt/system/versions/${aPrompt.digest}`)).status).toBe(404);
    });

    it("refuses publishing into another project with 404 and writes nothing", async () => {
      const before = await tableCounts(t);
      const res = await as(b).post("/v1/projects/team-a/artifacts/prompt/system", { content: content.prompt() });
      expect(res.status).toBe(404);
      expect(await tableCounts(t)).toEqual(before);
    });
  });

  describe("version sets", () => {
    it("refuses a version set referencing another project's artifacts (422), by version, digest or latest", async () => {
      for (const ref of ["prompt/system@1", "prompt/system@latest", `prompt/system@${aPrompt.digest}`]) {
        const res = await as(b).post("/v1/projects/team-b/version-sets", { components: { "prompt.system": ref } });
        expect(res.status, ref).toBe(422);
      }
    });

    it("hides another project's version sets by id (404), also from the project's own diff", async () => {
      expect((await as(b).get(`/v1/projects/team-a/version-sets/${aSet}`)).status).toBe(404);
      expect((await as(b).get(`/v1/projects/team-b/version-sets/${aSet}`)).status).toBe(404);
      expect((await as(b).get(`/v1/projects/team-b/version-sets/${aSet}/bundle`)).status).toBe(404);
      expect((await as(b).get("/v1/projects/team-a/version-sets")).status).toBe(404);
      const diff = await as(b).get(`/v1/projects/team-b/diff?from=${aSet}&to=${aSet}`);
      expect([404, 422]).toContain(diff.status);
    });
  });

  describe("environments", () => {
    it("hides another project's environments and refuses deploying another project's set", async () => {
      if (!t.pinset.routes.some((r) => r.path.endsWith("/environments/:env/deploy"))) return;
      expect((await as(a).put("/v1/projects/team-a/environments/prod", { body: {} })).status).toBe(201);
      expect((await as(a).post("/v1/projects/team-a/environments/prod/deploy", { version_set: aSet })).status).toBe(200);
      for (const path of ["", "/history", "/resolve"]) {
        expect((await as(b).get(`/v1/projects/team-a/environments/prod${path}`)).status, path).toBe(404);
      }
      expect((await as(b).post("/v1/projects/team-a/environments/prod/deploy", { version_set: aSet })).status).toBe(404);
      expect((await as(b).post("/v1/projects/team-a/environments/prod/rollback", {})).status).toBe(404);

      expect((await as(b).put("/v1/projects/team-b/environments/prod", { body: {} })).status).toBe(201);
      const before = await tableCounts(t);
      const stolen = await as(b).post("/v1/projects/team-b/environments/prod/deploy", { version_set: aSet });
      expect([404, 422]).toContain(stolen.status);
      expect(await tableCounts(t)).toEqual(before);
      expect((await as(b).get("/v1/projects/team-b/environments/prod/resolve")).status).toBe(404);
    });
  });

  describe("audit", () => {
    it("hides another project's audit (404) and keeps each project's entries apart", async () => {
      expect((await as(b).get("/v1/projects/team-a/audit")).status).toBe(404);
      const own = await (await as(b).get("/v1/projects/team-b/audit?limit=500")).json();
      expect(own.items.length).toBeGreaterThan(0);
      expect(own.items.every((e: { project: string }) => e.project === "team-b")).toBe(true);
      expect(JSON.stringify(own)).not.toContain("team-a");
    });
  });
});
