import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

/**
 * The built console (scripts/build-console.ts writes it): `index.html`, the content-hashed
 * files under `assets/`, and `manifest.json` naming each with its media type. The server holds
 * all of it in memory (a few hundred KB) and serves nothing else from that directory, so a
 * stray file there is never exposed.
 */
export interface ConsoleBundle {
  index: Buffer;
  /** `main-3F2A….js` → bytes and media type. */
  assets: ReadonlyMap<string, { body: Buffer; type: string }>;
}

export const manifestSchema = z.object({
  index: z.literal("index.html"),
  assets: z.record(z.string().regex(/^[A-Za-z0-9_-]+-[A-Za-z0-9]{8,}\.[a-z0-9]+$/), z.object({ type: z.string().min(1), size: z.number().int().min(0) })),
});
export type ConsoleManifest = z.infer<typeof manifestSchema>;

/** `<package root>/dist/console`, found from this file both under src/ (tsx) and dist/ (compiled). */
export function defaultConsoleDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("package.json not found above the console module");
    dir = parent;
  }
  return path.join(dir, "dist", "console");
}

/** The bundle in `dir`; undefined when it was never built (no manifest.json). */
export async function loadConsoleBundle(dir: string): Promise<ConsoleBundle | undefined> {
  const manifestText = await readFile(path.join(dir, "manifest.json"), "utf8").catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  if (manifestText === undefined) return undefined;
  const manifest = manifestSchema.parse(JSON.parse(manifestText));
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const [name, { type }] of Object.entries(manifest.assets)) {
    assets.set(name, { body: await readFile(path.join(dir, "assets", name)), type });
  }
  return { index: await readFile(path.join(dir, manifest.index)), assets };
}
