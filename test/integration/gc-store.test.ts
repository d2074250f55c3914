import { MemoryGcStore } from "../../src/gc/memory-store.js";
import { KyselyGcStore } from "../../src/gc/store.js";
import { MemoryProjectStore } from "../../src/projects/memory-store.js";
import { KyselyProjectStore } from "../../src/projects/store.js";
import { gcStoreContract, type GcStores } from "../contract/gc-store.js";
import { storeBackends } from "../support/store-backends.js";

for (const backend of storeBackends<GcStores>({
  kysely: (db) => ({ gc: new KyselyGcStore(db), projects: new KyselyProjectStore(db) }),
  memory: (tables) => ({ gc: new MemoryGcStore(tables), projects: new MemoryProjectStore(tables) }),
})) {
  gcStoreContract(backend);
}
