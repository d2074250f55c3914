import { describe, expect, it } from "vitest";
import { MemoryAuditStore } from "../../src/audit/memory-store.js";
import type { Actor } from "../../src/core/actor.js";
import { MemoryTables } from "../../src/core/memory-tables.js";
import { MemoryProjectStore } from "../../src/projects/memory-store.js";
import { ProjectService } from "../../src/projects/service.js";
import { MemoryWebhookStore } from "../../src/webhooks/memory-store.js";
import { WebhookService } from "../../src/webhooks/service.js";

const actor: Actor = { name: "admin", tokenId: "tok_1", traceId: "t", clientAddress: null };

async function build(options: { allowPrivate?: boolean; failAudit?: boolean } = {}) {
  const tables = new MemoryTables();
  const audit = new MemoryAuditStore(tables);
  const projects = new ProjectService({ store: new MemoryProjectStore(tables), audit, transactions: tables });
  await projects.ensure(actor, "shop", null);
  const store = new MemoryWebhookStore(tables);
  const recorder = options.failAudit ? { record: () => Promise.reject(new Error("audit down")) } : audit;
  const service = new WebhookService({ store, audit: recorder, transactions: tables, projects, ...(options.allowPrivate ? { allowPrivate: true } : {}) });
  return { service, audit, store };
}

const hook = { url: "https://hooks.example.com/pinset", events: ["artifact.published" as const], secret: "s3cret-value" };

describe("WebhookService (memory stores)", () => {
  it("registers a webhook, audits it without its secret, and lists it back newest first", async () => {
    const { service, audit } = await build();
    const first = await service.create(actor, "shop", hook);
    const second = await service.create(actor, "shop", { ...hook, url: "https://other.example.com/h" });
    expect(JSON.stringify(first)).not.toContain("s3cret-value");
    expect((await service.list("shop", { limit: 10 })).items.map((w) => w.id)).toEqual([second.id, first.id]);
    const entries = await audit.list({ action: "webhook.create", limit: 10 });
    expect(entries.map((e) => e.target)).toEqual([`webhook/${second.id}`, `webhook/${first.id}`]);
    expect(JSON.stringify(entries)).not.toContain("s3cret-value");
  });

  it("refuses a literal private or loopback target with 422 naming body.url, unless private targets are allowed", async () => {
    const { service, store } = await build();
    for (const url of ["http://127.0.0.1/h", "http://10.0.0.7/h", "http://[::1]/h", "http://localhost/h"]) {
      await expect(service.create(actor, "shop", { ...hook, url })).rejects.toMatchObject({ status: 422, errors: [expect.objectContaining({ path: "body.url" })] });
    }
    expect(await store.list("shop", { limit: 10 })).toEqual([]);
    const open = await build({ allowPrivate: true });
    await expect(open.service.create(actor, "shop", { ...hook, url: "http://127.0.0.1/h" })).resolves.toMatchObject({ url: "http://127.0.0.1/h" });
  });

  it("answers 404 for an unknown project or webhook, and deletes with an audit entry", async () => {
    const { service, audit } = await build();
    await expect(service.create(actor, "ghost", hook)).rejects.toMatchObject({ status: 404 });
    await expect(service.delete(actor, "shop", "wh_missing")).rejects.toMatchObject({ status: 404 });
    await expect(service.deliveries("shop", "wh_missing", { limit: 10 }, { detailed: true })).rejects.toMatchObject({ status: 404 });
    const created = await service.create(actor, "shop", hook);
    await service.delete(actor, "shop", created.id);
    expect((await service.list("shop", { limit: 10 })).items).toEqual([]);
    expect((await audit.list({ action: "webhook.delete", limit: 10 })).map((e) => e.target)).toEqual([`webhook/${created.id}`]);
  });

  it("keeps nothing when the audit entry cannot be written", async () => {
    const { service, store } = await build({ failAudit: true });
    await expect(service.create(actor, "shop", hook)).rejects.toThrow("audit down");
    expect(await store.list("shop", { limit: 10 })).toEqual([]);
  });
});
