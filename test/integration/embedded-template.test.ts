import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectPglite } from "../../src/db/connect.js";
import { buildEmbeddedTemplate, pgliteVersion, seedFromTemplate } from "../../src/db/embedded-template.js";
import { MIGRATIONS_DIR, migrateToLatest } from "../../src/db/migrate.js";

/** The template a fresh embedded start copies instead of running initdb and the migrations. */
describe("embedded database template", () => {
  let scratch: string;
  let templateDir: string;
  const migrationNames = async (dir: string) => (await import("node:fs/promises")).readdir(dir).then((f) => f.filter((n) => n.endsWith(".sql")).map((n) => n.slice(0, -4)).sort());

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "pinset-template-"));
    templateDir = path.join(scratch, "template");
    await buildEmbeddedTemplate({ templateDir });
  }, 120_000);
  afterAll(async () => rm(scratch, { recursive: true, force: true }));

  it("records the PGlite version and every migration", async () => {
    const manifest = JSON.parse(await readFile(path.join(templateDir, "template.json"), "utf8"));
    expect(manifest).toEqual({ pglite: await pgliteVersion(), migrations: await migrationNames(MIGRATIONS_DIR) });
  });

  it("a fresh data directory starts as a migrated copy, and the migrator has nothing left to do", async () => {
    const dbDir = path.join(scratch, "fresh", "db");
    expect(await seedFromTemplate(dbDir, { templateDir })).toBe(true);
    expect(existsSync(`${dbDir}.partial-${process.pid}`)).toBe(false);
    const handle = await connectPglite({ dir: dbDir });
    try {
      expect(await migrateToLatest(handle.db)).toEqual([]);
      const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(handle.db);
      expect(rows.map((r) => r.name)).toEqual(await migrationNames(MIGRATIONS_DIR));
      await sql`insert into projects (name) values ('from-template')`.execute(handle.db);
    } finally {
      await handle.close();
    }
  }, 60_000);

  it("never replaces an existing database", async () => {
    const dbDir = path.join(scratch, "existing", "db");
    await mkdir(dbDir, { recursive: true });
    await writeFile(path.join(dbDir, "mine"), "x");
    expect(await seedFromTemplate(dbDir, { templateDir })).toBe(false);
    expect(await readFile(path.join(dbDir, "mine"), "utf8")).toBe("x");
  });

  it("is not used when missing, made by another PGlite version, or made from other migrations", async () => {
    expect(await seedFromTemplate(path.join(scratch, "none", "db"), { templateDir: path.join(scratch, "no-such-template") })).toBe(false);

    const otherVersion = path.join(scratch, "other-version");
    await cp(templateDir, otherVersion, { recursive: true });
    const manifest = JSON.parse(await readFile(path.join(otherVersion, "template.json"), "utf8"));
    await writeFile(path.join(otherVersion, "template.json"), JSON.stringify({ ...manifest, pglite: "0.0.1" }));
    expect(await seedFromTemplate(path.join(scratch, "v", "db"), { templateDir: otherVersion })).toBe(false);

    const renamed = path.join(scratch, "renamed-migrations");
    await cp(MIGRATIONS_DIR, renamed, { recursive: true });
    const [first] = await migrationNames(renamed);
    await cp(path.join(renamed, `${first}.sql`), path.join(renamed, `${first!.replace(/_.*/, "")}_renamed.sql`));
    await rm(path.join(renamed, `${first}.sql`));
    expect(await seedFromTemplate(path.join(scratch, "m", "db"), { templateDir, migrationsDir: renamed })).toBe(false);
    for (const dir of ["none", "v", "m"]) expect(existsSync(path.join(scratch, dir, "db"))).toBe(false);
  });

  it("a template older than the migrations on disk is used, and the newer migration is applied after it", async () => {
    const newer = path.join(scratch, "newer-migrations");
    await cp(MIGRATIONS_DIR, newer, { recursive: true });
    const names = await migrationNames(newer);
    const next = String(names.length + 1).padStart(4, "0");
    await writeFile(path.join(newer, `${next}_later.sql`), "CREATE TABLE later_table (id int);\n");
    const dbDir = path.join(scratch, "older", "db");
    expect(await seedFromTemplate(dbDir, { templateDir, migrationsDir: newer })).toBe(true);
    const handle = await connectPglite({ dir: dbDir });
    try {
      expect(await migrateToLatest(handle.db, newer)).toEqual([`${next}_later`]);
      await sql`select * from later_table`.execute(handle.db);
    } finally {
      await handle.close();
    }
  }, 60_000);
});
