import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProjectStore } from "../../src/projects/ports.js";
import type { OpenStores, StoreBackend } from "../support/store-backends.js";

/** The behaviour every ProjectStore has: run on PGlite, Postgres and the memory fake. */
export function projectStoreContract(backend: StoreBackend<{ projects: ProjectStore }>) {
  describe(`ProjectStore contract: ${backend.name}`, () => {
    let open: OpenStores<{ projects: ProjectStore }>;
    let projects: ProjectStore;
    beforeAll(async () => {
      open = await backend.open();
      projects = open.stores.projects;
    });
    afterAll(async () => open?.close());

    it("inserts a project once: the row the first time, undefined after", async () => {
      const row = await open.transactions.run((tx) => projects.insertIfAbsent(tx, "alpha", "first"));
      expect(row).toMatchObject({ name: "alpha", description: "first" });
      expect(row!.created_at).toBeInstanceOf(Date);
      expect(await open.transactions.run((tx) => projects.insertIfAbsent(tx, "alpha", "second"))).toBeUndefined();
      expect(await projects.find("alpha")).toEqual(row);
    });

    it("finds nothing for an unknown name", async () => {
      expect(await projects.find("nope")).toBeUndefined();
    });

    it("reads its own write inside the transaction", async () => {
      const seen = await open.transactions.run(async (tx) => {
        await projects.insertIfAbsent(tx, "inside", null);
        return projects.find("inside", tx);
      });
      expect(seen?.name).toBe("inside");
    });

    it("keeps nothing of a transaction that throws", async () => {
      await expect(
        open.transactions.run(async (tx) => {
          await projects.insertIfAbsent(tx, "rolled-back", null);
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      expect(await projects.find("rolled-back")).toBeUndefined();
    });

    it("lists newest first, pages by seq and filters by name", async () => {
      for (const name of ["l1", "l2", "l3"]) await open.transactions.run((tx) => projects.insertIfAbsent(tx, name, null));
      const all = await projects.list({ names: ["l1", "l2", "l3"], limit: 10 });
      expect(all.map((r) => r.name)).toEqual(["l3", "l2", "l1"]);
      const next = await projects.list({ names: ["l1", "l2", "l3"], before: all[0]!.seq, limit: 1 });
      expect(next.map((r) => r.name)).toEqual(["l2"]);
      expect(await projects.list({ names: [], limit: 10 })).toEqual([]);
      const everything = await projects.list({ names: "*", limit: 100 });
      expect(everything.map((r) => r.name)).toEqual(expect.arrayContaining(["alpha", "inside", "l1", "l2", "l3"]));
      expect(everything.map((r) => r.seq)).toEqual([...everything.map((r) => r.seq)].sort((a, b) => b - a));
    });
  });
}
