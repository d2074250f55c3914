import { readFileSync } from "node:fs";

/** Assumed where the limit cannot be read (not Linux): the usual default soft limit. */
export const FALLBACK_OPEN_FILES = 1024;

/**
 * This process's soft limit on open files (what `ulimit -n` set), from /proc/self/limits on
 * Linux; FALLBACK_OPEN_FILES where that cannot be read or parsed.
 */
export function openFilesLimit(read: () => string = () => readFileSync("/proc/self/limits", "utf8")): number {
  try {
    const soft = /^Max open files\s+(\d+|unlimited)\s/m.exec(read())?.[1];
    if (soft === undefined) return FALLBACK_OPEN_FILES;
    return soft === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(soft);
  } catch {
    return FALLBACK_OPEN_FILES;
  }
}
