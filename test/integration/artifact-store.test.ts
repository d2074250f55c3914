import { MemoryArtifactStore } from "../../src/artifacts/memory-store.js";
import { KyselyArtifactStore } from "../../src/artifacts/store.js";
import { MemoryProjectStore } from "../../src/projects/memory-store.js";
import { KyselyProjectStore } from "../../src/projects/store.js";
import { artifactStoreContract, type ArtifactContractStores } from "../contract/artifact-store.js";
import { storeBackends } from "../support/store-backends.js";

for (const backend of storeBackends<ArtifactContractStores>({
  kysely: (db) => ({
    artifacts: new KyselyArtifactStore(db),
    projects: new KyselyProjectStore(db),
    async retire(v) {
      await db
        .updateTable("artifacts")
        .set({ retired_at: new Date() })
        .where("project", "=", v.project)
        .where("kind", "=", v.kind)
        .where("name", "=", v.name)
        .where("version", "=", v.version)
        .execute();
    },
  }),
  memory: (tables) => {
    const artifacts = new MemoryArtifactStore(tables);
    return { artifacts, projects: new MemoryProjectStore(tables), retire: async (v) => artifacts.markRetired(v) };
  },
})) {
  artifactStoreContract(backend);
}
