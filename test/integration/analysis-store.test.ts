import { sql } from "kysely";
import { MemoryAnalysisStore } from "../../src/analysis/memory-store.js";
import { KyselyAnalysisStore } from "../../src/analysis/store.js";
import { analysisStoreContract, type AnalysisContractStores } from "../contract/analysis-store.js";
import { storeBackends } from "../support/store-backends.js";

for (const backend of storeBackends<AnalysisContractStores>({
  kysely: (db) => ({
    analysis: new KyselyAnalysisStore(db),
    // The foreign key's targets, written directly: fixtures of other domains, not under test.
    async seed(project, environments) {
      await sql`insert into projects (name) values (${project})`.execute(db);
      for (const name of environments) await sql`insert into environments (project, name) values (${project}, ${name})`.execute(db);
    },
  }),
  memory: (tables) => ({ analysis: new MemoryAnalysisStore(tables), seed: async () => {} }),
})) {
  analysisStoreContract(backend);
}
