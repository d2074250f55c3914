import { CompiledQuery, type Compilable, type Kysely } from "kysely";
import { nameStatement } from "./prepared-statements.js";
import type { Database } from "./schema.js";

/** Where a value goes in a statement built once: stands for the argument of that name. */
export type Arg<A> = <K extends keyof A & string>(name: K) => A[K];

const MARK = "\u0000pinset-arg:";

/**
 * A statement kysely builds and compiles once, then runs with new values: for the reads most
 * requests make (an artifact version, an environment, a history page, the sets of a diff).
 * Building the query tree and compiling it cost more CPU than sending the statement and
 * parsing its answer (docs/performance.md); the SQL text never changes, only the values do.
 *
 * `build` puts `arg(name)` wherever a value of the call goes; other values in it (a `limit(1)`)
 * are constants of the statement. It is called once per dialect adapter (every dialect here
 * compiles PostgreSQL, but a statement is never reused across compilers); each `arg` must
 * become exactly one parameter, which the first compile checks. On Postgres the statement runs
 * prepared (prepared-statements.ts), so it names its columns: `selectAll()` is refused.
 */
export function compiledOnce<A extends object, R>(build: (db: Kysely<Database>, arg: Arg<A>) => Compilable<R>): (db: Kysely<Database>, args: A) => Promise<R[]> {
  /** Per parameter: the argument's name, or the constant the build gave. */
  type Slot = { name: keyof A } | { constant: unknown };
  const compiled = new Map<unknown, { sql: string; slots: Slot[] }>();
  const compile = (db: Kysely<Database>) => {
    const used = new Set<string>();
    const arg = ((name: string) => {
      used.add(name);
      return `${MARK}${name}`;
    }) as Arg<A>;
    const query = build(db, arg).compile();
    const slots = query.parameters.map((p): Slot => (typeof p === "string" && p.startsWith(MARK) ? { name: p.slice(MARK.length) as keyof A } : { constant: p }));
    const names = slots.flatMap((slot) => ("name" in slot ? [slot.name] : []));
    if (new Set(names).size !== used.size || names.length !== used.size) throw new Error(`each arg() must be one parameter: ${query.sql}`);
    nameStatement(query.sql);
    return { sql: query.sql, slots };
  };
  return async (db, args) => {
    const adapter = db.getExecutor().adapter.constructor;
    let statement = compiled.get(adapter);
    if (!statement) compiled.set(adapter, (statement = compile(db)));
    const result = await db.executeQuery<R>(CompiledQuery.raw(statement.sql, statement.slots.map((slot) => ("name" in slot ? args[slot.name] : slot.constant))));
    return result.rows;
  };
}
