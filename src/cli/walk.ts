import { readdir, stat } from "node:fs/promises";
import path from "node:path";

export interface WalkedFile {
  /** Relative to the walked directory, `/`-separated whatever the OS. */
  path: string;
  absolute: string;
  size: number;
}

export interface WalkResult {
  files: WalkedFile[];
  /** Entries left out (symlinked directories, sockets…), with why. */
  skipped: string[];
}

/**
 * Every regular file under `root` (symlinks to files included), sorted by path so the same
 * directory always yields the same manifest. Symlinked directories are not followed: a cycle
 * or a link out of the tree would make the index depend on things outside it.
 */
export async function walkDirectory(root: string): Promise<WalkResult> {
  const files: WalkedFile[] = [];
  const skipped: string[] = [];
  async function visit(dir: string, prefix: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      const absolute = path.join(dir, entry.name);
      const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        await visit(absolute, relative);
      } else if (entry.isFile()) {
        files.push({ path: relative, absolute, size: (await stat(absolute)).size });
      } else if (entry.isSymbolicLink()) {
        const target = await stat(absolute).catch(() => undefined);
        if (target?.isFile()) files.push({ path: relative, absolute, size: target.size });
        else skipped.push(`${relative} (${target ? "symlink to a directory" : "broken symlink"})`);
      } else {
        skipped.push(`${relative} (not a regular file)`);
      }
    }
  }
  await visit(root, "");
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, skipped };
}
