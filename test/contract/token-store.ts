import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NewToken, TokenStore } from "../../src/auth/ports.js";
import { ConflictError } from "../../src/core/errors.js";
import type { OpenStores, StoreBackend } from "../support/store-backends.js";

let n = 0;
const token = (over: Partial<NewToken> = {}): NewToken => {
  n += 1;
  return { id: `tok_c${n}`, name: `t${n}`, secretHash: `hash-${n}-${Math.random()}`, scopes: ["read"], projects: ["demo"], environments: null, expiresAt: null, createdBy: "ci", ...over };
};

/**
 * The behaviour every TokenStore has: run on PGlite, Postgres and the memory fake. The row lock
 * of findForUpdate and the revocation notification are tested on the databases
 * (test/integration/tokens.test.ts).
 */
export function tokenStoreContract(backend: StoreBackend<{ tokens: TokenStore }>) {
  describe(`TokenStore contract: ${backend.name}`, () => {
    let open: OpenStores<{ tokens: TokenStore }>;
    let tokens: TokenStore;
    const insert = (t: NewToken) => open.transactions.run((tx) => tokens.insert(tx, t));
    beforeAll(async () => {
      open = await backend.open();
      tokens = open.stores.tokens;
    });
    afterAll(async () => open?.close());

    it("inserts a token and returns it without its hash; finds it by id and by hash with the hash", async () => {
      const t = token({ environments: ["prod"], scopes: ["read", "deploy"], expiresAt: new Date(Date.now() + 60_000) });
      const row = await insert(t);
      expect(row).toMatchObject({ id: t.id, name: t.name, scopes: ["read", "deploy"], projects: ["demo"], environments: ["prod"], revoked_at: null, created_by: "ci" });
      expect(row).not.toHaveProperty("secret_hash");
      expect(row.created_at).toBeInstanceOf(Date);
      expect(row.expires_at?.getTime()).toBe(t.expiresAt!.getTime());
      expect(await tokens.findById(t.id)).toEqual({ ...row, secret_hash: t.secretHash });
      expect(await tokens.findBySecretHash(t.secretHash)).toEqual({ ...row, secret_hash: t.secretHash });
      expect(await tokens.findBySecretHash("nope")).toBeUndefined();
      expect(await tokens.findById("tok_nope")).toBeUndefined();
    });

    it("refuses a second token with the same id or secret hash (ConflictError)", async () => {
      const t = await insert(token());
      await expect(insert(token({ id: t.id }))).rejects.toBeInstanceOf(ConflictError);
      const hashed = token();
      await insert(hashed);
      await expect(insert(token({ secretHash: hashed.secretHash }))).rejects.toBeInstanceOf(ConflictError);
    });

    it("keeps nothing of a transaction that throws", async () => {
      const t = token();
      await expect(
        open.transactions.run(async (tx) => {
          await tokens.insert(tx, t);
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      expect(await tokens.findById(t.id)).toBeUndefined();
    });

    it("lists newest first and pages by seq, never with the hash", async () => {
      const made = [await insert(token()), await insert(token()), await insert(token())];
      const all = await tokens.list({ limit: 100 });
      expect(all.slice(0, 3).map((r) => r.id)).toEqual(made.map((r) => r.id).reverse());
      expect(all.every((r) => !("secret_hash" in r))).toBe(true);
      expect((await tokens.list({ before: made[2]!.seq, limit: 1 })).map((r) => r.id)).toEqual([made[1]!.id]);
    });

    it("revokes: the row is marked, reads see it, and it counts as unusable", async () => {
      const live = await insert(token());
      const expired = await insert(token({ expiresAt: new Date(Date.now() - 1000) }));
      const doomed = await insert(token());
      const revoked = await open.transactions.run(async (tx) => {
        const locked = await tokens.findForUpdate(tx, doomed.id);
        expect(locked).toEqual(doomed);
        return tokens.revoke(tx, doomed.id);
      });
      expect(revoked.revoked_at).toBeInstanceOf(Date);
      expect((await tokens.findById(doomed.id))?.revoked_at?.getTime()).toBe(revoked.revoked_at!.getTime());
      expect((await tokens.unusable([live.id, expired.id, doomed.id, "tok_ghost"])).sort()).toEqual([expired.id, doomed.id].sort());
      expect(await tokens.unusable([])).toEqual([]);
      expect(await open.transactions.run((tx) => tokens.findForUpdate(tx, "tok_ghost"))).toBeUndefined();
    });

    it("bootstraps: insertIfAbsent once, upsertSecret replaces the hash and name and lifts a revocation", async () => {
      const first = token({ id: "tok_boot_c", name: "boot" });
      expect(await tokens.insertIfAbsent(first)).toBe(true);
      expect(await tokens.insertIfAbsent({ ...first, secretHash: "other-hash" })).toBe(false);
      expect((await tokens.findById("tok_boot_c"))?.secret_hash).toBe(first.secretHash);
      await open.transactions.run((tx) => tokens.revoke(tx, "tok_boot_c"));
      await tokens.upsertSecret({ ...first, name: "boot (env)", secretHash: "rotated-hash" });
      expect(await tokens.findById("tok_boot_c")).toMatchObject({ name: "boot (env)", secret_hash: "rotated-hash", revoked_at: null });
      const fresh = token({ id: "tok_boot_new" });
      await tokens.upsertSecret(fresh);
      expect((await tokens.findBySecretHash(fresh.secretHash))?.id).toBe("tok_boot_new");
    });
  });
}
