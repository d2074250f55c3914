import path from "node:path";
import type { Config } from "../config.js";
import { connectPglite, connectPostgres, type DatabaseHandle } from "./connect.js";
import { acquireDataDirLock, type DataDirLock } from "./data-dir-lock.js";
import { migrateToLatest } from "./migrate.js";

/**
 * The database the config asks for, migrated. Embedded mode first takes the data directory's
 * lock, so a second process on the same directory stops here instead of corrupting it.
 */
export async function openDatabase(config: Pick<Config, "databaseUrl" | "dataDir">): Promise<DatabaseHandle & { lock?: DataDirLock }> {
  if (config.databaseUrl) {
    const handle = connectPostgres({ url: config.databaseUrl });
    try {
      await migrateToLatest(handle.db);
    } catch (err) {
      await handle.close();
      throw err;
    }
    return handle;
  }
  const lock = await acquireDataDirLock(config.dataDir);
  try {
    const handle = await connectPglite({ dir: path.join(config.dataDir, "db") });
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
