import { describe, expect, it } from "vitest";
import { everyColumn } from "../../src/db/every-column.js";
import { nameStatement, statementName } from "../../src/db/prepared-statements.js";

describe("nameStatement", () => {
  it("gives a statement text one name for good, another text another; an unnamed text has none", () => {
    const first = nameStatement('select "id" from "version_sets" where "project" = $1 -- unit a');
    expect(first).toMatch(/^pinset_\d+$/);
    expect(nameStatement('select "id" from "version_sets" where "project" = $1 -- unit a')).toBe(first);
    const second = nameStatement('select "id" from "version_sets" where "project" = $1 -- unit b');
    expect(second).not.toBe(first);
    expect(statementName('select "id" from "version_sets" where "project" = $1 -- unit a')).toBe(first);
    expect(statementName("select 1 -- never named")).toBeUndefined();
  });

  it.each([
    ['select * from "artifacts" where "project" = $1'],
    ['select distinct * from "artifacts"'],
    ['select "a"."seq", * from "artifacts" as "a"'],
    ['select "artifacts".* from "artifacts"'],
    ['insert into "projects" ("name") values ($1) returning *'],
  ])("refuses a column wildcard: %s", (sql) => {
    expect(() => nameStatement(sql)).toThrow(/names its columns/);
    expect(statementName(sql)).toBeUndefined();
  });

  it("takes a `*` that is not a column list", () => {
    expect(nameStatement('select count(*) as "n" from "artifacts" -- unit count')).toMatch(/^pinset_\d+$/);
    expect(nameStatement('select "size" * 2 as "twice" from "artifacts" -- unit product')).toMatch(/^pinset_\d+$/);
  });
});

describe("everyColumn", () => {
  interface Table {
    id: string;
    size: number;
    at: Date;
  }
  it("returns the list it is given (leaving a column out or naming an unknown one does not type-check)", () => {
    expect(everyColumn<Table>()(["id", "size", "at"])).toEqual(["id", "size", "at"]);
    // @ts-expect-error -- "at" is missing
    everyColumn<Table>()(["id", "size"]);
    // @ts-expect-error -- "name" is not a column
    everyColumn<Table>()(["id", "size", "at", "name"]);
  });
});
