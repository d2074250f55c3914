import { describe, expect, it } from "vitest";
import { MemoryAuditStore } from "../../src/audit/memory-store.js";
import type { Actor } from "../../src/core/actor.js";
import { NotFoundError } from "../../src/core/errors.js";
import { MemoryTables } from "../../src/core/memory-tables.js";
import type { Principal } from "../../src/core/principal.js";
import { MemoryProjectStore } from "../../src/projects/memory-store.js";
import { ProjectService } from "../../src/projects/service.js";

const actor: Actor = { name: "admin", tokenId: "tok_1", traceId: "t", clientAddress: null };

function build() {
  const tables = new MemoryTables();
  const audit = new MemoryAuditStore(tables);
  const store = new MemoryProjectStore(tables);
  return { tables, audit, store, service: new ProjectService({ store, audit, transactions: tables }) };
}

const reader = (projects: "*" | string[]): Principal => ({
  tokenId: "tok_r",
  name: "reader",
  scopes: new Set(["read"]),
  projects: projects === "*" ? "*" : new Set(projects),
});

describe("ProjectService (memory stores)", () => {
  it("creates a project once, audits only the creation, and keeps the first description", async () => {
    const { service, audit } = build();
    const first = await service.ensure(actor, "shop", "the shop");
    expect(first).toMatchObject({ created: true, project: { name: "shop", description: "the shop" } });
    const again = await service.ensure(actor, "shop", "changed");
    expect(again).toMatchObject({ created: false, project: { name: "shop", description: "the shop" } });
    const entries = await audit.list({ limit: 10 });
    expect(entries.map((e) => [e.action, e.target, e.actor])).toEqual([["project.create", "project/shop", "admin"]]);
  });

  it("creates nothing when the audit entry cannot be written", async () => {
    const { tables, store } = build();
    const failingAudit = { record: async () => Promise.reject(new Error("audit down")) };
    const service = new ProjectService({ store, audit: failingAudit, transactions: tables });
    await expect(service.ensure(actor, "shop", null)).rejects.toThrow("audit down");
    await expect(service.require("shop")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("requires an existing project and answers 404 otherwise", async () => {
    const { service } = build();
    await service.ensure(actor, "shop", null);
    expect((await service.require("shop")).name).toBe("shop");
    await expect(service.require("ghost")).rejects.toMatchObject({ status: 404, code: "not_found" });
  });

  it("asks the store once per project it has found, and every time for one it has not", async () => {
    const { tables, audit, store } = build();
    let finds = 0;
    const counting = { ...store, insertIfAbsent: store.insertIfAbsent.bind(store), list: store.list.bind(store), find: (name: string) => (finds++, store.find(name)) };
    const service = new ProjectService({ store: counting, audit, transactions: tables, cacheSize: 2 });
    await expect(service.require("later")).rejects.toBeInstanceOf(NotFoundError);
    await service.ensure(actor, "later", null);
    finds = 0;
    await service.require("later");
    await service.require("later");
    expect(finds).toBe(1);
    for (const name of ["x", "y"]) {
      await service.ensure(actor, name, null);
      await service.require(name);
    }
    finds = 0;
    await service.require("later");
    expect(finds).toBe(1);
  });

  it("lists only the projects a token may see, newest first, in pages", async () => {
    const { service } = build();
    for (const name of ["a", "b", "c"]) await service.ensure(actor, name, null);
    expect((await service.list(reader(["a", "c"]), { limit: 10 })).items.map((p) => p.name)).toEqual(["c", "a"]);
    const page1 = await service.list(reader("*"), { limit: 2 });
    expect(page1.items.map((p) => p.name)).toEqual(["c", "b"]);
    const page2 = await service.list(reader("*"), { limit: 2, cursor: page1.next_cursor! });
    expect(page2).toEqual({ items: [expect.objectContaining({ name: "a" })], next_cursor: null });
  });
});
