import path from "node:path";
import type { Config } from "../config.js";
import { DEFAULT_DATABASE_BUDGETS } from "./budgets.js";
import { connectPgliteWorker, connectPostgres, type DatabaseHandle } from "./connect.js";
import { acquireDataDirLock, type DataDirLock } from "./data-dir-lock.js";
import { seedFromTemplate } from "./embedded-template.js";
import { migrateToLatest } from "./migrate.js";

/**
 * The database the config asks for, migrated. Embedded mode first takes the data directory's
 * lock, so a second process on the same directory stops here instead of corrupting it; a data
 * directory without a database yet starts as a copy of the build's template (embedded-template.ts).
 * The lock is this thread's, held for the process; PGlite itself runs in a worker thread.
 */
export async function openDatabase(config: Pick<Config, "databaseUrl" | "dataDir"> & Partial<Pick<Config, "database">>): Promise<DatabaseHandle & { lock?: DataDirLock }> {
  if (config.databaseUrl) {
    // Migrations on a connection of their own, without time budgets (see connectPostgres).
    const migrator = connectPostgres({ url: config.databaseUrl, max: 1 });
    try {
      await migrateToLatest(migrator.db);
    } finally {
      await migrator.close();
    }
    const database = config.database ?? DEFAULT_DATABASE_BUDGETS;
    return connectPostgres({ url: config.databaseUrl, budgets: database, preparedStatements: config.database?.preparedStatements });
  }
  const lock = await acquireDataDirLock(config.dataDir);
  try {
    const dir = path.join(config.dataDir, "db");
    await seedFromTemplate(dir);
    // In a worker thread: a statement there never holds up this thread's HTTP answers.
    const handle = await connectPgliteWorker({ dir });
    await migrateToLatest(handle.db);
    return {
      ...handle,
      lock,
      async close() {
        await handle.close();
        await lock.release();
      },
    };
  } catch (err) {
    await lock.release();
    throw err;
  }
}
