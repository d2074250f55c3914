import { sql } from "kysely";
import { memoryRolloutStores } from "../../src/rollouts/memory-store.js";
import { kyselyRolloutStores } from "../../src/rollouts/store.js";
import { rolloutStoresContract, type RolloutContractStores } from "../contract/rollout-stores.js";
import { storeBackends } from "../support/store-backends.js";

for (const backend of storeBackends<RolloutContractStores>({
  kysely: (db) => ({
    ...kyselyRolloutStores(db),
    // The foreign keys' targets, written directly: fixtures of other domains, not under test.
    async seed(project, environments, versionSets) {
      await sql`insert into projects (name) values (${project})`.execute(db);
      for (const id of versionSets) await sql`insert into version_sets (project, id, components) values (${project}, ${id}, '{}'::jsonb)`.execute(db);
      for (const name of environments) await sql`insert into environments (project, name) values (${project}, ${name})`.execute(db);
    },
  }),
  memory: (tables) => ({ ...memoryRolloutStores(tables), seed: async () => {} }),
})) {
  rolloutStoresContract(backend);
}
