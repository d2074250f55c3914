import type { Kysely } from "kysely";
import type { Database } from "../../src/db/schema.js";
import { MemoryIncidentStore } from "../../src/incidents/memory-store.js";
import type { IncidentKey } from "../../src/incidents/ports.js";
import { KyselyIncidentStore } from "../../src/incidents/store.js";
import { incidentStoreContract, type IncidentStores } from "../contract/incident-store.js";
import { storeBackends } from "../support/store-backends.js";

async function seedEnvironment(db: Kysely<Database>, key: IncidentKey): Promise<void> {
  await db.insertInto("projects").values({ name: key.project, description: null }).onConflict((oc) => oc.column("name").doNothing()).execute();
  await db.insertInto("environments").values({ project: key.project, name: key.environment }).execute();
}

for (const backend of storeBackends<IncidentStores>({
  kysely: (db) => ({ incidents: new KyselyIncidentStore(db), seedEnvironment: (key) => seedEnvironment(db, key) }),
  memory: (tables) => ({ incidents: new MemoryIncidentStore(tables), seedEnvironment: async () => {} }),
})) {
  incidentStoreContract(backend);
}
