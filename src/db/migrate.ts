import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from "kysely";
import { splitSqlStatements } from "./split-sql.js";

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../migrations");

const MIGRATION_FILE = /^(\d{4})_[a-z0-9_]+\.sql$/;

/**
 * Reads `migrations/NNNN_name.sql`. Migrations are plain SQL frozen in time: they never import
 * application code, so an old migration keeps meaning what it meant when it shipped.
 */
export class SqlFileMigrationProvider implements MigrationProvider {
  constructor(private readonly dir: string = MIGRATIONS_DIR) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(this.dir)).filter((f) => MIGRATION_FILE.test(f)).sort();
    const migrations: Record<string, Migration> = {};
    for (const file of files) {
      const statements = splitSqlStatements(await readFile(path.join(this.dir, file), "utf8"));
      migrations[file.replace(/\.sql$/, "")] = {
        async up(db: Kysely<unknown>) {
          for (const statement of statements) await sql.raw(statement).execute(db);
        },
      };
    }
    return migrations;
  }
}

/**
 * Brings the schema up to date. Safe when several instances start at once: kysely's Postgres
 * adapter takes an advisory lock around the whole run, and each migration runs in the
 * migrator's transaction.
 */
export async function migrateToLatest(db: Kysely<any>, dir?: string): Promise<string[]> {
  const provider = new SqlFileMigrationProvider(dir);
  if (await upToDate(db, provider)) return [];
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === "Error");
  if (error) {
    const where = failed ? ` in ${failed.migrationName}` : "";
    throw new Error(`Database migration failed${where}: ${(error as Error).message ?? String(error)}`, {
      cause: error,
    });
  }
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

/**
 * Whether every migration on disk is recorded as applied, in one read. The common start (nothing
 * to do) then skips the Migrator, whose lock table and checks cost 2–3 s on a freshly opened
 * PGlite. Anything else — no table yet, a missing or unknown name — goes through the Migrator,
 * which takes its lock and decides.
 */
async function upToDate(db: Kysely<any>, provider: MigrationProvider): Promise<boolean> {
  const { rows } = await sql<{ exists: boolean }>`select to_regclass('kysely_migration') is not null as exists`.execute(db);
  if (!rows[0]?.exists) return false;
  const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
  const wanted = Object.keys(await provider.getMigrations()).sort();
  return applied.rows.length === wanted.length && applied.rows.every((row, i) => row.name === wanted[i]);
}
