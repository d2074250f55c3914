import type { AuditStore } from "../../src/audit/ports.js";
import { MemoryAuditStore } from "../../src/audit/memory-store.js";
import { KyselyAuditStore } from "../../src/audit/store.js";
import { auditStoreContract } from "../contract/audit-store.js";
import { storeBackends } from "../support/store-backends.js";

for (const backend of storeBackends<{ audit: AuditStore }>({
  kysely: (db) => ({ audit: new KyselyAuditStore(db) }),
  memory: (tables) => ({ audit: new MemoryAuditStore(tables) }),
})) {
  auditStoreContract(backend);
}
