import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import path from "node:path";

/**
 * The resolver's last-known-good file: the newest bundle it received, with what it was resolved
 * for, so a process that starts while the registry is away can still serve.
 *
 * Written atomically: a temporary file in the same directory (same filesystem, so the rename is
 * atomic), fsync'd, renamed over the old file, then the directory fsync'd so the rename itself
 * survives a crash. A reader therefore sees the old file or the new one, never a torn mix.
 * Mode 0600: a bundle can hold prompts and configuration that are not for other local users.
 * A missing directory is created (mode 0700, for the same reason), so a path like
 * `/var/cache/pinset/prod.json` works on a fresh machine instead of failing every write.
 */
export const CACHE_FORMAT = "pinset-resolver-cache/1";

export interface CacheRecord {
  format: typeof CACHE_FORMAT;
  project: string;
  environment: string;
  /** The subject the bundle was resolved for; null without one. */
  subject: string | null;
  version_set: string;
  etag: string;
  assignment: "stable" | "candidate" | null;
  /** When the registry served it (ISO 8601). */
  saved_at: string;
  bundle: unknown;
}

/** What a cache file must have been written for to be usable by this resolver. */
export interface CacheKey {
  project: string;
  environment: string;
  subject: string | null;
}

export async function writeCacheFile(file: string, record: CacheRecord): Promise<void> {
  const dir = path.dirname(file);
  // Only directories this call creates get the mode; an existing one is left as it is.
  await mkdir(dir, { recursive: true, mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    const why = error.code === "EEXIST" ? "a file is in the way" : error.message;
    throw new Error(`cannot create the folder ${dir}: ${why}`, { cause: error });
  });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const handle = await open(temp, "wx", 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(record)}\n`, "utf8");
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  await syncDirectory(dir);
}

/** Some filesystems refuse to open or fsync a directory; the data itself is already durable. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r").catch(() => undefined);
  if (!handle) return;
  await handle.sync().catch(() => {});
  await handle.close().catch(() => {});
}

export type CacheReadResult = { ok: true; record: CacheRecord } | { ok: false; reason: string };

/**
 * Reads and checks the file: a missing, unreadable or malformed file, or one written for another
 * project, environment or subject, is not used (the reason says which).
 */
export async function readCacheFile(file: string, expected: CacheKey): Promise<CacheReadResult> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === "ENOENT" ? `cache file ${file} does not exist` : `cache file ${file} cannot be read (${code ?? String(error)})` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, reason: `cache file ${file} is not valid JSON` };
  }
  if (!isRecord(parsed)) return { ok: false, reason: `cache file ${file} is not a ${CACHE_FORMAT} file` };
  for (const field of ["project", "environment", "subject"] as const) {
    if (parsed[field] !== expected[field]) {
      return { ok: false, reason: `cache file ${file} was written for ${field} ${JSON.stringify(parsed[field])}, not ${JSON.stringify(expected[field])}` };
    }
  }
  return { ok: true, record: parsed };
}

function isRecord(value: unknown): value is CacheRecord {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v.format === CACHE_FORMAT &&
    typeof v.project === "string" &&
    typeof v.environment === "string" &&
    (v.subject === null || typeof v.subject === "string") &&
    typeof v.version_set === "string" &&
    typeof v.etag === "string" &&
    (v.assignment === null || v.assignment === "stable" || v.assignment === "candidate") &&
    typeof v.saved_at === "string" &&
    typeof v.bundle === "object" &&
    v.bundle !== null
  );
}
