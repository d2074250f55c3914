import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditStore } from "../../src/audit/ports.js";
import type { Actor } from "../../src/core/actor.js";
import type { OpenStores, StoreBackend } from "../support/store-backends.js";

const actor: Actor = { name: "ci", tokenId: null, traceId: "trace-1", clientAddress: "127.0.0.1" };
const other: Actor = { name: "oncall", tokenId: null, traceId: "trace-2", clientAddress: null };

/** The behaviour every AuditStore has: run on PGlite, Postgres and the memory fake. */
export function auditStoreContract(backend: StoreBackend<{ audit: AuditStore }>) {
  describe(`AuditStore contract: ${backend.name}`, () => {
    let open: OpenStores<{ audit: AuditStore }>;
    let audit: AuditStore;
    beforeAll(async () => {
      open = await backend.open();
      audit = open.stores.audit;
      const entries: Array<[Actor, Parameters<AuditStore["record"]>[2]]> = [
        [actor, { project: "p", action: "environment.deploy", target: "environment/prod", before: { active: null }, after: { active: "vs_1" } }],
        [actor, { project: "p", action: "environment.deploy", target: "environment/staging", after: { active: "vs_2" } }],
        [other, { project: "p", action: "evidence.create", target: "evidence/ev_1", after: { environment: "prod" } }],
        [other, { project: "p", action: "evidence.create", target: "evidence/ev_2", after: { environment: "staging" } }],
        [actor, { project: "q", action: "project.create", target: "project/q" }],
        [actor, { project: null, action: "token.create", target: "token/tok_1" }],
      ];
      for (const [who, entry] of entries) await open.transactions.run((tx) => audit.record(tx, who, entry));
    });
    afterAll(async () => open?.close());

    it("lists newest first with every field as recorded", async () => {
      const rows = await audit.list({ limit: 10 });
      expect(rows.map((r) => r.target)).toEqual(["token/tok_1", "project/q", "evidence/ev_2", "evidence/ev_1", "environment/staging", "environment/prod"]);
      const deploy = rows.at(-1)!;
      expect(deploy).toMatchObject({
        project: "p",
        actor: "ci",
        actor_token_id: null,
        action: "environment.deploy",
        before: { active: null },
        after: { active: "vs_1" },
        trace_id: "trace-1",
        client_address: "127.0.0.1",
      });
      expect(deploy.at).toBeInstanceOf(Date);
      expect(rows.find((r) => r.target === "project/q")).toMatchObject({ before: null, after: null });
    });

    it("filters by project, action, actor, trace id and exact or prefixed target", async () => {
      expect((await audit.list({ project: "q", limit: 10 })).map((r) => r.target)).toEqual(["project/q"]);
      expect((await audit.list({ action: "evidence.create", limit: 10 })).map((r) => r.target)).toEqual(["evidence/ev_2", "evidence/ev_1"]);
      expect((await audit.list({ actor: "oncall", limit: 10 })).length).toBe(2);
      expect((await audit.list({ traceId: "trace-2", limit: 10 })).length).toBe(2);
      expect((await audit.list({ target: "environment/prod", limit: 10 })).map((r) => r.target)).toEqual(["environment/prod"]);
      expect((await audit.list({ target: "environment/*", limit: 10 })).map((r) => r.target)).toEqual(["environment/staging", "environment/prod"]);
    });

    it("hides other environments' entries from an environment-limited reader and keeps the rest", async () => {
      const rows = await audit.list({ project: "p", environments: ["prod"], limit: 10 });
      expect(rows.map((r) => r.target)).toEqual(["evidence/ev_1", "environment/prod"]);
    });

    it("pages by seq and bounds by time", async () => {
      const first = await audit.list({ limit: 2 });
      const next = await audit.list({ before: first[1]!.seq, limit: 2 });
      expect(next.map((r) => r.target)).toEqual(["evidence/ev_2", "evidence/ev_1"]);
      expect(await audit.list({ since: new Date(Date.now() + 60_000), limit: 10 })).toEqual([]);
      expect((await audit.list({ until: new Date(Date.now() + 60_000), limit: 10 })).length).toBe(6);
    });

    it("records nothing for a transaction that throws", async () => {
      await expect(
        open.transactions.run(async (tx) => {
          await audit.record(tx, actor, { project: "p", action: "doomed", target: "x/1" });
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      expect(await audit.list({ action: "doomed", limit: 10 })).toEqual([]);
    });
  });
}
