import { mkdir, open, readFile, rm } from "node:fs/promises";
import path from "node:path";

/**
 * PGlite has no cross-process locking: two processes on one data directory silently lose
 * writes. We hold `<dataDir>/pinset.lock` (created exclusively, containing our pid) for the
 * life of the process and refuse to start while a live process holds it. A lock left by a
 * dead process is taken over.
 */
export class DataDirLockedError extends Error {
  constructor(readonly dataDir: string, readonly pid: number) {
    super(
      `The data directory ${dataDir} is in use by another Pinset process (pid ${pid}). ` +
        `Stop it, or point PINSET_DATA_DIR at another directory.`,
    );
    this.name = "DataDirLockedError";
  }
}

export interface DataDirLock {
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true });
  const lockPath = path.join(dataDir, "pinset.lock");
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(lockPath, "wx", 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          await rm(lockPath, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number((await readFile(lockPath, "utf8").catch(() => "")).trim());
      if (isAlive(holder)) throw new DataDirLockedError(dataDir, holder);
      await rm(lockPath, { force: true });
    }
  }
  throw new Error(`Could not take the lock on ${dataDir}; another process keeps racing for it`);
}
