import { ValidationError } from "./errors.js";

/** A list answer: lists are newest first; the cursor is the opaque position after the last item. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export function encodeCursor(position: number): string {
  return Buffer.from(JSON.stringify({ p: position })).toString("base64url");
}

/**
 * Positions are versions and revisions (Postgres `integer`) or `seq` numbers; the server never
 * issues one outside 0…2^31−1 (no list of one project comes near 2^31 rows). A forged cursor
 * beyond that reached Postgres as an out-of-range integer and answered 500.
 */
const MAX_POSITION = 2 ** 31 - 1;

export function decodeCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { p?: unknown };
    if (typeof parsed.p === "number" && Number.isInteger(parsed.p) && parsed.p >= 0 && parsed.p <= MAX_POSITION) return parsed.p;
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError("The cursor is not one this server issued", [{ path: "query.cursor", message: "invalid cursor" }]);
}

/**
 * Builds a page from `limit + 1` rows fetched in list order: the extra row only tells whether
 * another page exists.
 */
export function toPage<R, T>(rows: R[], limit: number, positionOf: (row: R) => number, present: (row: R) => T): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items: items.map(present),
    next_cursor: rows.length > limit && last !== undefined ? encodeCursor(positionOf(last)) : null,
  };
}
