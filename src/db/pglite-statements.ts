import { protocol, type PGlite } from "@electric-sql/pglite";

/**
 * Runs one statement on PGlite in a single exchange with its backend (pglite-worker.ts uses it
 * instead of `pglite.query`). `query` makes six calls into the WebAssembly backend per statement
 * (parse, describe the statement, bind, describe the portal, execute, sync), each with its own
 * JavaScript round of buffers and message parsing, and copies every parser of the instance into
 * a fresh object to read the rows; on the registry's statements that was a third of the database
 * thread's time. Here a statement is one buffer of extended-protocol messages ending in Sync, so
 * PGlite's own wrapper still collects the messages, raises the first error (with Postgres'
 * `code`) and hands NOTIFY to the listeners.
 *
 * Invariants, each as `query` has them:
 * - parameters are serialised by the type Postgres infers for them (`jsonb` → JSON text, `text[]`
 *   → an array literal, …): the types come from describing the statement once per SQL text and
 *   are kept until a statement that may change what they refer to runs (DDL, or anything that
 *   mentions `search_path`, clears them all);
 * - a statement with `begin` runs that statement first in the same buffer, with no Sync between:
 *   if `begin` fails, the backend skips the statement (it never runs outside the transaction);
 *   if the statement fails, the transaction is left aborted, as two separate calls would leave it;
 * - rows are objects keyed by column name (the last of two equal names wins), values parsed by
 *   the instance's parsers by type, `null` stays `null`; `affectedRows` counts what INSERT,
 *   UPDATE, DELETE, COPY and MERGE report, else 0.
 */
export interface StatementResult {
  rows: Record<string, unknown>[];
  affectedRows: number;
}

/** Statements after which the parameter types of every statement seen still hold. */
const KEEPS_TYPES = /^\s*(select|insert|update|delete|with|values|table|begin|start|commit|end|rollback|abort|savepoint|release|set|show|reset|lock|explain|notify|listen|unlisten)\b/i;
/** A statement that may make the same names mean other tables (`set search_path`, `set_config('search_path', …)`). */
const NAMES = /search_path/i;
/** Distinct SQL texts whose parameter types are kept; past this the cache starts over. */
const MAX_KEPT = 2_000;
const NO_TYPES: readonly number[] = [];
const serialize = protocol.serialize;

export class PgliteStatements {
  private readonly paramTypes = new Map<string, readonly number[]>();

  constructor(private readonly pglite: PGlite) {}

  run(sql: string, params: readonly unknown[], begin?: string): Promise<StatementResult> {
    return this.pglite.runExclusive(async () => {
      const types = params.length === 0 ? NO_TYPES : (this.paramTypes.get(sql) ?? (await this.describe(sql)));
      const values = params.map((value, i) => this.serialize(value, types[i]));
      const messages = [
        ...(begin === undefined ? [] : [serialize.parse({ text: begin }), serialize.bind(), serialize.execute()]),
        serialize.parse({ text: sql }),
        serialize.bind({ values }),
        serialize.describe({ type: "P" }),
        serialize.execute(),
        serialize.sync(),
      ];
      try {
        return this.resultOf(await this.pglite.execProtocolStream(concat(messages), { syncToFs: false }));
      } finally {
        if (!KEEPS_TYPES.test(sql) || NAMES.test(sql)) this.paramTypes.clear();
        // As `query` does after every statement (PGlite writes nothing here on Node's file system).
        await this.pglite.syncToFs();
      }
    });
  }

  private async describe(sql: string): Promise<readonly number[]> {
    const messages = await this.pglite.execProtocolStream(concat([serialize.parse({ text: sql }), serialize.describe({ type: "S" }), serialize.sync()]), { syncToFs: false });
    const description = messages.find((m): m is typeof m & { dataTypeIDs: number[] } => m.name === "parameterDescription");
    const types = description?.dataTypeIDs ?? NO_TYPES;
    if (this.paramTypes.size >= MAX_KEPT) this.paramTypes.clear();
    this.paramTypes.set(sql, types);
    return types;
  }

  private serialize(value: unknown, type: number | undefined): string | null {
    if (value === null || value === undefined) return null;
    const serializer = type === undefined ? undefined : this.pglite.serializers[type];
    return serializer ? (serializer(value) as string) : String(value);
  }

  /** The statement's result: the rows and count of the last CommandComplete (an earlier one is `begin`'s). */
  private resultOf(messages: ReadonlyArray<{ name: string }>): StatementResult {
    let columns: Array<{ name: string; type: number; parse: ((text: string, type: number) => unknown) | undefined }> = [];
    let rows: Record<string, unknown>[] = [];
    let result: StatementResult = { rows: [], affectedRows: 0 };
    for (const message of messages) {
      switch (message.name) {
        case "rowDescription":
          columns = (message as unknown as { fields: Array<{ name: string; dataTypeID: number }> }).fields.map((f) => ({ name: f.name, type: f.dataTypeID, parse: this.pglite.parsers[f.dataTypeID] }));
          break;
        case "dataRow": {
          const fields = (message as unknown as { fields: Array<string | null> }).fields;
          const row: Record<string, unknown> = {};
          for (let i = 0; i < columns.length; i++) {
            const { name, type, parse } = columns[i]!;
            const text = fields[i] ?? null;
            row[name] = text === null ? null : parse ? parse(text, type) : text;
          }
          rows.push(row);
          break;
        }
        case "commandComplete":
          result = { rows, affectedRows: affectedRowsOf((message as unknown as { text: string }).text) };
          rows = [];
          columns = [];
          break;
      }
    }
    return result;
  }
}

function affectedRowsOf(tag: string): number {
  const words = tag.split(" ");
  switch (words[0]) {
    case "INSERT":
      return Number.parseInt(words[2]!, 10);
    case "UPDATE":
    case "DELETE":
    case "COPY":
    case "MERGE":
      return Number.parseInt(words[1]!, 10);
    default:
      return 0;
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
