import { MemoryProjectStore } from "../../src/projects/memory-store.js";
import { KyselyProjectStore } from "../../src/projects/store.js";
import { MemoryVersionSetStore } from "../../src/version-sets/memory-store.js";
import { KyselyVersionSetStore } from "../../src/version-sets/store.js";
import { versionSetStoreContract, type VersionSetContractStores } from "../contract/version-set-store.js";
import { storeBackends } from "../support/store-backends.js";

for (const backend of storeBackends<VersionSetContractStores>({
  kysely: (db) => ({ sets: new KyselyVersionSetStore(db), projects: new KyselyProjectStore(db) }),
  memory: (tables) => ({ sets: new MemoryVersionSetStore(tables), projects: new MemoryProjectStore(tables) }),
})) {
  versionSetStoreContract(backend);
}
