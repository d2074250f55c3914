import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ArtifactStore, ArtifactVersionKey, NewArtifactVersion } from "../../src/artifacts/ports.js";
import { PublishQueueTimeout } from "../../src/artifacts/ports.js";
import { ConflictError } from "../../src/core/errors.js";
import type { ProjectStore } from "../../src/projects/ports.js";
import type { OpenStores, StoreBackend } from "../support/store-backends.js";

export interface ArtifactContractStores {
  artifacts: ArtifactStore;
  /** Artifacts belong to a project (a foreign key in SQL). */
  projects: ProjectStore;
  /** What garbage collection's retirement does to a version (src/gc owns that statement). */
  retire(version: ArtifactVersionKey): Promise<void>;
}

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;

function version(project: string, kind: string, name: string, n: number, extra: Partial<NewArtifactVersion> = {}): NewArtifactVersion {
  return { project, kind, name, digest: digest(n), size: 10 + n, content: JSON.stringify({ n }), annotations: {}, createdBy: "ci", ...extra };
}

/**
 * The behaviour every ArtifactStore has: run on PGlite, Postgres and the memory fake. The name
 * lock's waiting and the share locks of holdVersions cannot be faked (memory transactions run
 * one at a time): they are tested on Postgres only (PGlite has one connection, so a second
 * transaction cannot even start while the first holds a lock).
 */
export function artifactStoreContract(backend: StoreBackend<ArtifactContractStores>) {
  describe(`ArtifactStore contract: ${backend.name}`, () => {
    let open: OpenStores<ArtifactContractStores>;
    let artifacts: ArtifactStore;
    const insert = (row: NewArtifactVersion) => open.transactions.run((tx) => artifacts.insertNextVersion(tx, row));
    beforeAll(async () => {
      open = await backend.open();
      artifacts = open.stores.artifacts;
      for (const name of ["p", "q"]) await open.transactions.run((tx) => open.stores.projects.insertIfAbsent(tx, name, null));
    });
    afterAll(async () => open?.close());

    it("numbers the versions of each name from 1, keeping every field as given", async () => {
      const first = await insert(version("p", "prompt", "answer", 1, { annotations: { team: "search" } }));
      expect(first).toMatchObject({
        project: "p",
        kind: "prompt",
        name: "answer",
        version: 1,
        digest: digest(1),
        size: 11,
        content: '{"n":1}',
        annotations: { team: "search" },
        created_by: "ci",
        retired_at: null,
      });
      expect(first.created_at).toBeInstanceOf(Date);
      expect((await insert(version("p", "prompt", "answer", 2))).version).toBe(2);
      // Another name, kind or project numbers on its own.
      expect((await insert(version("p", "prompt", "other", 1))).version).toBe(1);
      expect((await insert(version("p", "config", "answer", 1))).version).toBe(1);
      expect((await insert(version("q", "prompt", "answer", 1))).version).toBe(1);
    });

    it("refuses a second version with the same content under one name (ConflictError)", async () => {
      await expect(insert(version("p", "prompt", "answer", 1))).rejects.toBeInstanceOf(ConflictError);
      expect((await artifacts.find({ project: "p", kind: "prompt", name: "answer" }, { by: "latest" }))?.version).toBe(2);
    });

    it("finds a version by number, digest and latest; nothing for unknown ones", async () => {
      const key = { project: "p", kind: "prompt", name: "answer" };
      expect((await artifacts.find(key, { by: "version", version: 1 }))?.digest).toBe(digest(1));
      expect((await artifacts.find(key, { by: "digest", digest: digest(2) }))?.version).toBe(2);
      expect((await artifacts.find(key, { by: "latest" }))?.version).toBe(2);
      expect((await artifacts.findByDigest(key, digest(1)))?.version).toBe(1);
      expect(await artifacts.find(key, { by: "version", version: 9 })).toBeUndefined();
      expect(await artifacts.findByDigest(key, digest(9))).toBeUndefined();
      expect(await artifacts.find({ ...key, project: "nope" }, { by: "latest" })).toBeUndefined();
      // Project, kind and name all narrow: q's answer is not p's.
      expect((await artifacts.find({ ...key, project: "q" }, { by: "latest" }))?.version).toBe(1);
    });

    it("reads its own write inside the transaction and keeps nothing of one that throws", async () => {
      const seen = await open.transactions.run(async (tx) => {
        const row = await artifacts.insertNextVersion(tx, version("p", "model", "inside", 1));
        return artifacts.findByDigest({ project: "p", kind: "model", name: "inside" }, row.digest, tx);
      });
      expect(seen?.version).toBe(1);
      await expect(
        open.transactions.run(async (tx) => {
          const row = await artifacts.insertNextVersion(tx, version("p", "model", "doomed", 1));
          await artifacts.insertBlobReferences(tx, row, [digest(100)]);
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      expect(await artifacts.find({ project: "p", kind: "model", name: "doomed" }, { by: "latest" })).toBeUndefined();
      expect(await artifacts.blobReferences({ project: "p", kind: "model", name: "doomed", version: 1 })).toEqual([]);
    });

    it("lists versions newest first without content, paging by version", async () => {
      const key = { project: "p", kind: "tools", name: "paged" };
      for (let n = 1; n <= 3; n++) await insert(version("p", "tools", "paged", 10 + n));
      const all = await artifacts.listVersions(key, { limit: 10 });
      expect(all.map((r) => r.version)).toEqual([3, 2, 1]);
      expect(all[0]).not.toHaveProperty("content");
      expect(all[0]).toMatchObject({ kind: "tools", name: "paged", digest: digest(13), size: 23, annotations: {}, created_by: "ci", retired_at: null });
      expect((await artifacts.listVersions(key, { before: 3, limit: 1 })).map((r) => r.version)).toEqual([2]);
      expect(await artifacts.listVersions({ ...key, name: "none" }, { limit: 10 })).toEqual([]);
    });

    it("lists each name once as its latest version, by kind then name, filtered and paged", async () => {
      await open.transactions.run((tx) => open.stores.projects.insertIfAbsent(tx, "cat", null));
      await insert(version("cat", "prompt", "b", 201));
      await insert(version("cat", "prompt", "b", 202));
      await insert(version("cat", "prompt", "a", 203));
      await insert(version("cat", "config", "z", 204));
      await insert(version("cat", "prompt", "a_x", 205));
      await insert(version("cat", "prompt", "abc", 206));
      const all = await artifacts.listLatest({ project: "cat", limit: 10 });
      expect(all.map((r) => `${r.kind}/${r.name}@${r.version}`)).toEqual(["config/z@1", "prompt/a@1", "prompt/a_x@1", "prompt/abc@1", "prompt/b@2"]);
      expect(all[0]).not.toHaveProperty("content");
      expect((await artifacts.listLatest({ project: "cat", kind: "prompt", limit: 10 })).length).toBe(4);
      // A prefix is text, not a LIKE pattern: "a_" does not match "abc".
      expect((await artifacts.listLatest({ project: "cat", prefix: "a_", limit: 10 })).map((r) => r.name)).toEqual(["a_x"]);
      const page = await artifacts.listLatest({ project: "cat", after: { kind: "prompt", name: "a_x" }, limit: 1 });
      expect(page.map((r) => r.name)).toEqual(["abc"]);
      expect(await artifacts.listLatest({ project: "cat", after: { kind: "prompt", name: "b" }, limit: 10 })).toEqual([]);
    });

    it("keeps a version's blob references once each, and names the newest retired version behind a blob", async () => {
      const v1 = await insert(version("p", "index", "docs", 301));
      const v2 = await insert(version("p", "index", "docs", 302));
      await open.transactions.run((tx) => artifacts.insertBlobReferences(tx, v1, [digest(901), digest(900), digest(901)]));
      await open.transactions.run((tx) => artifacts.insertBlobReferences(tx, v2, [digest(900)]));
      expect(await artifacts.blobReferences(v1)).toEqual([digest(900), digest(901)]);
      expect(await artifacts.retiredReference("p", digest(900))).toBeUndefined();
      await open.stores.retire(v1);
      expect(await artifacts.retiredReference("p", digest(900))).toEqual({ project: "p", kind: "index", name: "docs", version: 1 });
      await open.stores.retire(v2);
      expect(await artifacts.retiredReference("p", digest(900))).toMatchObject({ version: 2 });
      expect(await artifacts.retiredReference("q", digest(900))).toBeUndefined();
      expect((await artifacts.find(v1, { by: "version", version: 1 }))?.retired_at).toBeInstanceOf(Date);
      expect((await artifacts.listVersions(v1, { limit: 1 }))[0]?.retired_at).toBeInstanceOf(Date);
    });

    it("holds the versions asked for, in (kind, name, version) order, saying which are retired", async () => {
      const held = await open.transactions.run((tx) =>
        artifacts.holdVersions(tx, "p", [
          { kind: "index", name: "docs", version: 2 },
          { kind: "prompt", name: "answer", version: 1 },
          { kind: "index", name: "docs", version: 1 },
          { kind: "index", name: "docs", version: 7 },
        ]),
      );
      expect(held).toEqual([
        { kind: "index", name: "docs", version: 1, retired: true },
        { kind: "index", name: "docs", version: 2, retired: true },
        { kind: "prompt", name: "answer", version: 1, retired: false },
      ]);
      expect(await open.transactions.run((tx) => artifacts.holdVersions(tx, "p", []))).toEqual([]);
    });

    it.runIf(backend.name === "Postgres")("lets one publisher number a name at a time; a wait past its bound is PublishQueueTimeout", async () => {
      const key = { project: "p", kind: "model", name: "locked" };
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const holder = open.transactions.run(async (tx) => {
        await artifacts.lockName(tx, key, 1_000);
        locked();
        await held;
      });
      await isLocked;
      await expect(open.transactions.run((tx) => artifacts.lockName(tx, key, 100))).rejects.toBeInstanceOf(PublishQueueTimeout);
      // Another name is not queued behind it.
      await open.transactions.run((tx) => artifacts.lockName(tx, { ...key, name: "free" }, 100));
      release();
      await holder;
      await open.transactions.run((tx) => artifacts.lockName(tx, key, 100));
    });
  });
}
