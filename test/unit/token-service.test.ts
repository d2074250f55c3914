import { describe, expect, it } from "vitest";
import { MemoryAuditStore } from "../../src/audit/memory-store.js";
import { BOOTSTRAP_TOKEN_ID, ensureAdminToken } from "../../src/auth/bootstrap-admin.js";
import { MemoryTokenStore } from "../../src/auth/memory-store.js";
import { hashTokenSecret } from "../../src/auth/secrets.js";
import { TokenService } from "../../src/auth/service.js";
import type { Actor } from "../../src/core/actor.js";
import { MemoryTables } from "../../src/core/memory-tables.js";

const actor: Actor = { name: "admin", tokenId: "tok_admin", traceId: "t", clientAddress: null };

function build(options: { failAudit?: boolean } = {}) {
  const tables = new MemoryTables();
  const audit = new MemoryAuditStore(tables);
  const store = new MemoryTokenStore(tables);
  const events = { invalidated: 0, revoked: [] as string[] };
  const service = new TokenService({
    store,
    audit: options.failAudit ? { record: () => Promise.reject(new Error("audit down")) } : audit,
    transactions: tables,
    resolver: { invalidate: () => void events.invalidated++ },
    onRevoked: (id) => void events.revoked.push(id),
    now: () => Date.parse("2026-06-01T00:00:00Z"),
  });
  return { tables, audit, store, service, events };
}

describe("TokenService (memory stores)", () => {
  it("creates a token, keeps only its hash, and audits it without the secret", async () => {
    const { service, store, audit } = build();
    const made = await service.create(actor, { name: "ci", scopes: ["publish"], projects: ["shop"] });
    expect(made.token).toMatch(/\S{20,}/);
    expect((await store.findBySecretHash(hashTokenSecret(made.token)))?.id).toBe(made.id);
    const [entry] = await audit.list({ limit: 10 });
    expect(entry).toMatchObject({ action: "token.create", target: `token/${made.id}`, project: null, actor: "admin" });
    expect(JSON.stringify(entry)).not.toContain(made.token);
    expect(entry!.after).not.toHaveProperty("secret_hash");
  });

  it("answers 422 for a past expiry and for an admin token limited to some projects or environments", async () => {
    const { service, store } = build();
    await expect(service.create(actor, { name: "x", scopes: ["read"], projects: ["a"], expiresAt: new Date("2026-01-01T00:00:00Z") })).rejects.toMatchObject({
      status: 422,
      errors: [{ path: "body.expires_at" }],
    });
    await expect(service.create(actor, { name: "x", scopes: ["admin"], projects: ["a"], environments: ["prod"] })).rejects.toMatchObject({
      status: 422,
      errors: [{ path: "body.projects" }, { path: "body.environments" }],
    });
    expect(await store.list({ limit: 10 })).toEqual([]);
  });

  it("creates nothing when the audit entry cannot be written", async () => {
    const { service, store } = build({ failAudit: true });
    await expect(service.create(actor, { name: "ci", scopes: ["read"], projects: ["*"] })).rejects.toThrow("audit down");
    expect(await store.list({ limit: 10 })).toEqual([]);
  });

  it("revokes once (one audit entry), drops the resolver cache and ends the token's streams", async () => {
    const { service, audit, events } = build();
    const made = await service.create(actor, { name: "ci", scopes: ["read"], projects: ["*"] });
    const revoked = await service.revoke(actor, made.id);
    expect(revoked.revoked_at).not.toBeNull();
    const again = await service.revoke(actor, made.id);
    expect(again.revoked_at).toBe(revoked.revoked_at);
    expect((await audit.list({ action: "token.revoke", limit: 10 })).length).toBe(1);
    expect(events.revoked).toEqual([made.id, made.id]);
    expect(events.invalidated).toBe(2);
    expect((await service.list({ limit: 10 })).items[0]).toMatchObject({ id: made.id, revoked_at: revoked.revoked_at });
  });

  it("answers 404 for an unknown token and 409 for the bootstrap token", async () => {
    const { service, store } = build();
    await expect(service.revoke(actor, "tok_ghost")).rejects.toMatchObject({ status: 404 });
    await ensureAdminToken({ tokens: store, adminToken: "admin-secret-from-env", dataDir: "/nonexistent" });
    await expect(service.revoke(actor, BOOTSTRAP_TOKEN_ID)).rejects.toMatchObject({ status: 409 });
    expect((await store.findById(BOOTSTRAP_TOKEN_ID))?.revoked_at).toBeNull();
  });

  it("keeps the revocation undone when the audit entry cannot be written", async () => {
    const { tables, store } = build();
    const failing = new TokenService({ store, audit: { record: () => Promise.reject(new Error("audit down")) }, transactions: tables, resolver: { invalidate: () => {} } });
    const ok = new TokenService({ store, audit: new MemoryAuditStore(tables), transactions: tables, resolver: { invalidate: () => {} } });
    const target = await ok.create(actor, { name: "victim", scopes: ["read"], projects: ["*"] });
    await expect(failing.revoke(actor, target.id)).rejects.toThrow("audit down");
    expect((await store.findById(target.id))?.revoked_at).toBeNull();
  });

  it("pages the list newest first", async () => {
    const { service } = build();
    for (const name of ["a", "b", "c"]) await service.create(actor, { name, scopes: ["read"], projects: ["*"] });
    const first = await service.list({ limit: 2 });
    expect(first.items.map((t) => t.name)).toEqual(["c", "b"]);
    expect((await service.list({ limit: 2, cursor: first.next_cursor! })).items.map((t) => t.name)).toEqual(["a"]);
  });
});
