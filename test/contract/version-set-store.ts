import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConflictError } from "../../src/core/errors.js";
import type { ProjectStore } from "../../src/projects/ports.js";
import type { NewVersionSet, VersionSetStore } from "../../src/version-sets/ports.js";
import type { OpenStores, StoreBackend } from "../support/store-backends.js";

export interface VersionSetContractStores {
  sets: VersionSetStore;
  /** Sets belong to a project (a foreign key in SQL). */
  projects: ProjectStore;
}

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;
const id = (n: number) => `vs_${n.toString(16).padStart(24, "0")}`;

function set(project: string, n: number, extra: Partial<NewVersionSet> = {}): NewVersionSet {
  return {
    project,
    id: id(n),
    components: { llm: { kind: "model", name: "chat", version: n, digest: digest(n) } },
    code: null,
    description: null,
    createdBy: "ci",
    ...extra,
  };
}

/** The behaviour every VersionSetStore has: run on PGlite, Postgres and the memory fake. */
export function versionSetStoreContract(backend: StoreBackend<VersionSetContractStores>) {
  describe(`VersionSetStore contract: ${backend.name}`, () => {
    let open: OpenStores<VersionSetContractStores>;
    let sets: VersionSetStore;
    const insert = (row: NewVersionSet) => open.transactions.run((tx) => sets.insert(tx, row));
    beforeAll(async () => {
      open = await backend.open();
      sets = open.stores.sets;
      for (const name of ["p", "q"]) await open.transactions.run((tx) => open.stores.projects.insertIfAbsent(tx, name, null));
    });
    afterAll(async () => open?.close());

    it("stores a set with its components, code and description as given", async () => {
      const row = await insert(
        set("p", 1, {
          components: {
            docs: { kind: "index", name: "docs", version: 2, digest: digest(2) },
            llm: { kind: "model", name: "chat", version: 1, digest: digest(1) },
          },
          code: { repo: "github.com/acme/bot", commit: "abc" },
          description: "first",
        }),
      );
      expect(row).toMatchObject({
        project: "p",
        id: id(1),
        components: { docs: { kind: "index", name: "docs", version: 2, digest: digest(2) }, llm: { kind: "model", name: "chat", version: 1, digest: digest(1) } },
        code: { repo: "github.com/acme/bot", commit: "abc" },
        description: "first",
        created_by: "ci",
      });
      expect(row.created_at).toBeInstanceOf(Date);
      expect(await sets.find("p", id(1))).toEqual(row);
    });

    it("refuses a second set of the same id in a project (ConflictError), not in another project", async () => {
      await expect(insert(set("p", 1))).rejects.toBeInstanceOf(ConflictError);
      expect((await insert(set("q", 1))).project).toBe("q");
    });

    it("finds, finds many and tells existence (one id or several) within the project only", async () => {
      expect(await sets.find("p", id(9))).toBeUndefined();
      expect(await sets.exists("p", id(1))).toBe(true);
      expect(await sets.exists("p", id(9))).toBe(false);
      await insert(set("p", 2));
      const many = await sets.findMany("p", [id(2), id(1), id(9), id(2)]);
      expect(many.map((r) => r.id).sort()).toEqual([id(1), id(2)]);
      expect(await sets.findMany("p", [])).toEqual([]);
      expect((await sets.existingIds("p", [id(2), id(1), id(9), id(2)])).sort()).toEqual([id(1), id(2)]);
      // Two ids (a diff's question) take a statement of their own: a pair, one missing, one twice.
      expect((await sets.existingIds("p", [id(1), id(2)])).sort()).toEqual([id(1), id(2)]);
      expect(await sets.existingIds("p", [id(9), id(2)])).toEqual([id(2)]);
      expect(await sets.existingIds("p", [id(1), id(1)])).toEqual([id(1)]);
      expect(await sets.existingIds("p", [])).toEqual([]);
      // Project q holds only its own set 1 (the conflict case above).
      expect(await sets.existingIds("q", [id(2), id(1)])).toEqual([id(1)]);
      expect((await sets.findMany("q", [id(2)])).length).toBe(0);
    });

    it("reads its own write inside the transaction and keeps nothing of one that throws", async () => {
      const seen = await open.transactions.run(async (tx) => {
        await sets.insert(tx, set("p", 3));
        return [await sets.find("p", id(3), tx), await sets.exists("p", id(3), tx), (await sets.findMany("p", [id(3)], tx)).length];
      });
      expect(seen).toEqual([expect.objectContaining({ id: id(3) }), true, 1]);
      await expect(
        open.transactions.run(async (tx) => {
          await sets.insert(tx, set("p", 4));
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      expect(await sets.exists("p", id(4))).toBe(false);
    });

    it("lists a project's sets newest first, paging by seq", async () => {
      const all = await sets.list("p", { limit: 10 });
      expect(all.map((r) => r.id)).toEqual([id(3), id(2), id(1)]);
      const next = await sets.list("p", { before: all[0]!.seq, limit: 1 });
      expect(next.map((r) => r.id)).toEqual([id(2)]);
      expect((await sets.list("q", { limit: 10 })).map((r) => r.id)).toEqual([id(1)]);
      expect(await sets.list("nope", { limit: 10 })).toEqual([]);
    });
  });
}
