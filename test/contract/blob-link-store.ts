import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BlobLinkStore } from "../../src/blobs/ports.js";
import type { ProjectStore } from "../../src/projects/ports.js";
import type { OpenStores, StoreBackend } from "../support/store-backends.js";

export interface BlobLinkContractStores {
  links: BlobLinkStore;
  /** Links belong to a project (a foreign key in SQL). */
  projects: ProjectStore;
  /** What a collection's claim does to a blob row (src/gc owns that statement). */
  claim(digest: string): Promise<void>;
}

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;

/**
 * The behaviour every BlobLinkStore has: run on PGlite, Postgres and the memory fake. What the
 * row locks of `touch`, `hold` and `lockClaimed` order against a running collection is a
 * property of the SQL stores alone (memory transactions run one at a time): the gc race tests
 * (test/integration/gc-race.test.ts) exercise it on the real databases.
 */
export function blobLinkStoreContract(backend: StoreBackend<BlobLinkContractStores>) {
  describe(`BlobLinkStore contract: ${backend.name}`, () => {
    let open: OpenStores<BlobLinkContractStores>;
    let links: BlobLinkStore;
    const upload = (project: string, d: string, size: number) =>
      open.transactions.run(async (tx) => {
        await links.recordBlob(tx, d, size);
        return links.link(tx, project, d);
      });
    beforeAll(async () => {
      open = await backend.open();
      links = open.stores.links;
      for (const name of ["p", "q"]) await open.transactions.run((tx) => open.stores.projects.insertIfAbsent(tx, name, null));
    });
    afterAll(async () => open?.close());

    it("links a recorded blob to a project once, and only that project finds it", async () => {
      expect(await upload("p", digest(1), 100)).toBe(true);
      expect(await upload("p", digest(1), 100)).toBe(false);
      expect(await links.findLinked("p", digest(1))).toEqual({ size: 100 });
      expect(await links.findLinked("q", digest(1))).toBeUndefined();
      expect(await links.findLinked("p", digest(2))).toBeUndefined();
      expect(await upload("q", digest(1), 100)).toBe(true);
      expect(await links.findLinked("q", digest(1))).toEqual({ size: 100 });
    });

    it("touches trusted bytes (any project, or only one that linked them) and returns the size", async () => {
      expect(await links.touch(digest(1))).toEqual({ size: 100 });
      expect(await links.touch(digest(1), "p")).toEqual({ size: 100 });
      await upload("p", digest(3), 7);
      expect(await links.touch(digest(3), "q")).toBeUndefined();
      expect(await links.touch(digest(404))).toBeUndefined();
    });

    it("treats a claimed blob as absent until the claim is taken back", async () => {
      await upload("p", digest(4), 40);
      await open.stores.claim(digest(4));
      expect(await links.findLinked("p", digest(4))).toBeUndefined();
      expect(await links.touch(digest(4))).toBeUndefined();
      // A publish may still see it among the project's blobs, to revive it.
      expect(await links.linkedAmong("p", [digest(4)])).toEqual(new Map([[digest(4), 40]]));
      expect(await open.transactions.run((tx) => links.lockClaimed(tx, digest(4)))).toBe(true);
      await links.unclaim(digest(4));
      expect(await open.transactions.run((tx) => links.lockClaimed(tx, digest(4)))).toBe(false);
      expect(await links.findLinked("p", digest(4))).toEqual({ size: 40 });
      // Unclaiming a blob that is not claimed, or absent, changes nothing.
      await links.unclaim(digest(4));
      await links.unclaim(digest(404));
      expect(await open.transactions.run((tx) => links.lockClaimed(tx, digest(404)))).toBe(false);
    });

    it("clears a claim inside a transaction (revive)", async () => {
      await upload("p", digest(5), 50);
      await open.stores.claim(digest(5));
      await open.transactions.run(async (tx) => {
        expect(await links.lockClaimed(tx, digest(5))).toBe(true);
        await links.clearClaim(tx, digest(5));
      });
      expect(await links.findLinked("p", digest(5))).toEqual({ size: 50 });
    });

    it("lists a project's linked blobs among digests, with sizes, duplicates once", async () => {
      const found = await links.linkedAmong("p", [digest(1), digest(3), digest(3), digest(404)]);
      expect(found).toEqual(new Map([[digest(1), 100], [digest(3), 7]]));
      expect(await links.linkedAmong("q", [digest(3)])).toEqual(new Map());
      expect(await links.linkedAmong("p", [])).toEqual(new Map());
    });

    it("holds trusted blobs and names the claimed or missing ones, sorted, once each", async () => {
      await upload("p", digest(6), 60);
      await open.stores.claim(digest(6));
      const unavailable = await open.transactions.run((tx) => links.hold(tx, [digest(404), digest(1), digest(6), digest(6), digest(3)]));
      expect(unavailable).toEqual([digest(6), digest(404)]);
      expect(await open.transactions.run((tx) => links.hold(tx, [digest(1)]))).toEqual([]);
    });

    it("records a blob once: recording it again keeps its size", async () => {
      await open.transactions.run((tx) => links.recordBlob(tx, digest(7), 70));
      await open.transactions.run((tx) => links.recordBlob(tx, digest(7), 70));
      await open.transactions.run((tx) => links.link(tx, "p", digest(7)));
      expect(await links.findLinked("p", digest(7))).toEqual({ size: 70 });
    });

    it("keeps nothing of a transaction that throws", async () => {
      await expect(
        open.transactions.run(async (tx) => {
          await links.recordBlob(tx, digest(8), 80);
          await links.link(tx, "p", digest(8));
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      expect(await links.touch(digest(8))).toBeUndefined();
      expect(await links.linkedAmong("p", [digest(8)])).toEqual(new Map());
    });
  });
}
