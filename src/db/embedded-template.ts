import { existsSync } from "node:fs";
import { cp, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { MIGRATIONS_DIR, SqlFileMigrationProvider } from "./migrate.js";

/**
 * A fresh embedded database starts as a copy of a template made at build time, so the first
 * start skips PGlite's initdb and the migrations (several seconds in WebAssembly; the copy takes
 * about 0.1 s). Layout of the template directory:
 *
 *   db/             a PGlite data directory, migrated, closed cleanly
 *   template.json   { pglite: "<version>", migrations: ["0001_init", …] }
 *
 * The template is used only when it was made by the PGlite version installed now and its
 * migrations are a prefix of the ones on disk (the migrator then applies the newer ones, as it
 * would on any older data directory); otherwise the start falls back to initdb. The copy goes
 * to a temporary sibling and is renamed into place, so a crash never leaves half a database.
 * `npm run build` makes it in `dist/embedded-template` (scripts/build-embedded-template.ts);
 * `npm start` from the sources finds it there too.
 */
export const EMBEDDED_TEMPLATE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../dist/embedded-template");

interface TemplateManifest {
  pglite: string;
  migrations: string[];
}

/** The installed PGlite's version (its package.json is not in its `exports`: walk up from its entry). */
export async function pgliteVersion(): Promise<string> {
  let dir = path.dirname(fileURLToPath(import.meta.resolve("@electric-sql/pglite")));
  for (;;) {
    const file = path.join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(await readFile(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "@electric-sql/pglite" && pkg.version) return pkg.version;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("cannot find @electric-sql/pglite's package.json");
    dir = parent;
  }
}

async function migrationNames(migrationsDir: string): Promise<string[]> {
  return Object.keys(await new SqlFileMigrationProvider(migrationsDir).getMigrations()).sort();
}

/**
 * Copies the template to `dbDir` when `dbDir` does not exist yet and the template fits.
 * Answers whether it did.
 */
export async function seedFromTemplate(dbDir: string, options: { templateDir?: string; migrationsDir?: string } = {}): Promise<boolean> {
  const templateDir = options.templateDir ?? EMBEDDED_TEMPLATE_DIR;
  if (existsSync(dbDir)) return false;
  const manifest = await readFile(path.join(templateDir, "template.json"), "utf8")
    .then((text) => JSON.parse(text) as TemplateManifest)
    .catch(() => undefined);
  if (!manifest || !existsSync(path.join(templateDir, "db", "PG_VERSION"))) return false;
  if (manifest.pglite !== (await pgliteVersion())) return false;
  const current = await migrationNames(options.migrationsDir ?? MIGRATIONS_DIR);
  if (manifest.migrations.some((name, i) => current[i] !== name)) return false;
  const partial = `${dbDir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(path.dirname(dbDir), { recursive: true });
  await cp(path.join(templateDir, "db"), partial, { recursive: true });
  await rename(partial, dbDir);
  return true;
}

/** Makes the template in `templateDir` (replacing an old one): initdb, migrate, close. */
export async function buildEmbeddedTemplate(options: { templateDir?: string; migrationsDir?: string } = {}): Promise<TemplateManifest> {
  const templateDir = options.templateDir ?? EMBEDDED_TEMPLATE_DIR;
  const migrationsDir = options.migrationsDir ?? MIGRATIONS_DIR;
  const { connectPglite } = await import("./connect.js");
  const { migrateToLatest } = await import("./migrate.js");
  const building = `${templateDir}.building-${process.pid}`;
  await rm(building, { recursive: true, force: true });
  const handle = await connectPglite({ dir: path.join(building, "db") });
  try {
    await migrateToLatest(handle.db, migrationsDir);
    // A clean shutdown writes a checkpoint: the copy then opens without crash recovery.
    await handle.pglite!.query("CHECKPOINT");
  } finally {
    await handle.close();
  }
  const manifest: TemplateManifest = { pglite: await pgliteVersion(), migrations: await migrationNames(migrationsDir) };
  await writeFile(path.join(building, "template.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  await rm(templateDir, { recursive: true, force: true });
  await rename(building, templateDir);
  return manifest;
}
