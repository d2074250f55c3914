import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MIGRATIONS_DIR } from "../../src/db/migrate.js";
import { splitSqlStatements } from "../../src/db/split-sql.js";

describe("migrations", () => {
  it("are numbered uniquely and contiguously from 0001", async () => {
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith(".sql")).sort();
    expect(files.length).toBeGreaterThan(0);
    files.forEach((file, i) => expect(file).toMatch(new RegExp(`^${String(i + 1).padStart(4, "0")}_[a-z0-9_]+\\.sql$`)));
  });

  it("never import application code (they are plain SQL)", async () => {
    for (const file of await readdir(MIGRATIONS_DIR)) {
      expect(file.endsWith(".sql"), file).toBe(true);
      const text = await readFile(path.join(MIGRATIONS_DIR, file), "utf8");
      expect(splitSqlStatements(text).length, file).toBeGreaterThan(0);
    }
  });
});

describe("splitSqlStatements", () => {
  it("splits at top-level semicolons only", () => {
    const sql = `
      -- a comment; with a semicolon
      CREATE TABLE a (x text DEFAULT 'a;b');
      /* block; comment */ CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql;
      INSERT INTO "we;ird" VALUES ('it''s; fine');
      -- trailing comment only
    `;
    const statements = splitSqlStatements(sql);
    expect(statements).toHaveLength(3);
    expect(statements[0]).toContain("'a;b'");
    expect(statements[1]).toContain("RETURN 1; END;");
    expect(statements[2]).toContain("'it''s; fine'");
  });
});
