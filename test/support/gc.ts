import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { sql } from "kysely";
import { expect } from "vitest";
import { sha256Digest } from "./builders.js";
import type { TestApp } from "./test-app.js";

/** Fixtures for garbage-collection tests: blobs, index versions, sets and deploys over HTTP. */
export function gcFixtures(t: TestApp) {
  const db = () => t.db.handle.db;
  const json = async (res: Response) => (res.headers.get("content-type")?.includes("json") ? res.json() : undefined);
  const ok = async (res: Response, status: number | number[]) => {
    const body = await json(res);
    expect([status].flat(), JSON.stringify(body)).toContain(res.status);
    return body;
  };
  return {
    async project(name: string) {
      await ok(await t.request("PUT", `/v1/projects/${name}`), [200, 201]);
    },
    put(project: string, data: Uint8Array, digest = sha256Digest(data)) {
      return t.request("PUT", `/v1/projects/${project}/blobs/${digest}`, { raw: data as BodyInit, headers: { "content-type": "application/octet-stream" } });
    },
    async upload(project: string, data: Uint8Array = randomBytes(2048)): Promise<{ digest: string; data: Uint8Array }> {
      const digest = sha256Digest(data);
      await ok(await this.put(project, data, digest), [200, 201]);
      return { digest, data };
    },
    publishRaw(project: string, name: string, blobs: Array<{ digest: string; data: Uint8Array }>) {
      const files = blobs.map((b, i) => ({ path: `f${i}-${b.digest.slice(7, 15)}.bin`, digest: b.digest, size: b.data.byteLength }));
      return t.request("POST", `/v1/projects/${project}/artifacts/index/${name}`, { body: { content: { files } } });
    },
    async publish(project: string, name: string, blobs: Array<{ digest: string; data: Uint8Array }>): Promise<number> {
      const body = (await ok(await this.publishRaw(project, name, blobs), [200, 201])) as { version: number };
      return body.version;
    },
    async set(project: string, components: Record<string, string>): Promise<string> {
      const body = (await ok(await t.request("POST", `/v1/projects/${project}/version-sets`, { body: { components } }), [200, 201])) as { id: string };
      return body.id;
    },
    async env(project: string, env: string) {
      await ok(await t.request("PUT", `/v1/projects/${project}/environments/${env}`), [200, 201]);
    },
    deploy(project: string, env: string, set: string) {
      return t.request("POST", `/v1/projects/${project}/environments/${env}/deploy`, { body: { version_set: set } });
    },
    gc(body: { dry_run?: boolean; project?: string } = {}, token?: string) {
      return t.request("POST", "/v1/admin/gc", { body, ...(token !== undefined ? { token } : {}) });
    },
    async runGc(body: { dry_run?: boolean; project?: string } = {}) {
      return (await ok(await this.gc(body), 200)) as { id: string; state: string; report: GcReportJson };
    },
    /** Makes everything of the project look `days` old: versions, sets, history, uploads. */
    async age(project: string, days: number) {
      const then = sql<Date>`now() - make_interval(days => ${days})`;
      await db().updateTable("artifacts").set({ created_at: then } as never).where("project", "=", project).execute();
      await db().updateTable("version_sets").set({ created_at: then } as never).where("project", "=", project).execute();
      await db().updateTable("environment_history").set({ at: then } as never).where("project", "=", project).execute();
      await sql`update blobs set touched_at = ${then} where digest in (select digest from blob_links where project = ${project})`.execute(db());
    },
    async ageBlob(digest: string, hours: number) {
      await sql`update blobs set touched_at = now() - make_interval(hours => ${hours}) where digest = ${digest}`.execute(db());
    },
    /** GET the blob and check its bytes by digest. */
    async readsBack(project: string, blob: { digest: string }) {
      const res = await t.request("GET", `/v1/projects/${project}/blobs/${blob.digest}`);
      expect(res.status, `${blob.digest} in ${project}`).toBe(200);
      expect(sha256Digest(Buffer.from(await res.arrayBuffer()))).toBe(blob.digest);
    },
    /** The digests whose bytes are in the store itself: the fs directory or the S3 bucket listing. */
    async storedDigests(): Promise<Set<string>> {
      const found = new Set<string>();
      if (t.blobDir) {
        const root = path.join(t.blobDir, "blobs", "sha256");
        for (const shard of await readdir(root).catch(() => [] as string[])) {
          for (const hex of await readdir(path.join(root, shard))) found.add(`sha256:${hex}`);
        }
        return found;
      }
      // The S3 store's own client and bucket (the test lists what the server holds).
      const s3 = t.blobStore as unknown as { client: S3Client; bucket: string; prefix: string };
      let ContinuationToken: string | undefined;
      do {
        const page = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${s3.prefix}blobs/sha256/`, ContinuationToken }));
        for (const o of page.Contents ?? []) found.add(`sha256:${o.Key!.split("/").pop()}`);
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
      return found;
    },
  };
}

export interface GcReportJson {
  dry_run: boolean;
  project: string | null;
  projects: Array<{ project: string; retired_versions: number; blobs: number; bytes: number }>;
  total: { retired_versions: number; blobs: number; bytes: number };
  housekeeping: { outbox_rows: number; attempts: number };
}
