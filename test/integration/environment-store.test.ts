import { sql } from "kysely";
import { MemoryEnvironmentStore } from "../../src/environments/memory-store.js";
import { KyselyEnvironmentStore } from "../../src/environments/store.js";
import { MemoryProjectStore } from "../../src/projects/memory-store.js";
import { KyselyProjectStore } from "../../src/projects/store.js";
import { environmentStoreContract, type EnvironmentStoreFixture } from "../contract/environment-store.js";
import { storeBackends } from "../support/store-backends.js";

for (const backend of storeBackends<EnvironmentStoreFixture>({
  kysely: (db) => ({
    environments: new KyselyEnvironmentStore(db),
    projects: new KyselyProjectStore(db),
    // A bare row: enough for the environments' foreign key on `active`.
    async createVersionSet(project, id) {
      await sql`insert into version_sets (project, id, components) values (${project}, ${id}, '{}'::jsonb)`.execute(db);
    },
  }),
  memory: (tables) => ({
    environments: new MemoryEnvironmentStore(tables),
    projects: new MemoryProjectStore(tables),
    async createVersionSet() {},
  }),
})) {
  environmentStoreContract(backend);
}
