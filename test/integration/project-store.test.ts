import type { ProjectStore } from "../../src/projects/ports.js";
import { MemoryProjectStore } from "../../src/projects/memory-store.js";
import { KyselyProjectStore } from "../../src/projects/store.js";
import { projectStoreContract } from "../contract/project-store.js";
import { storeBackends } from "../support/store-backends.js";

for (const backend of storeBackends<{ projects: ProjectStore }>({
  kysely: (db) => ({ projects: new KyselyProjectStore(db) }),
  memory: (tables) => ({ projects: new MemoryProjectStore(tables) }),
})) {
  projectStoreContract(backend);
}
