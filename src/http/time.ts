import { z } from "zod";

/** Instants every layer handles alike: JavaScript, the pg driver and Postgres (which has no year 0). */
const EARLIEST = Date.UTC(1, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * An RFC 3339 timestamp with an explicit offset (`Z` or `±hh:mm`); a local time without one
 * is ambiguous and refused. zod also refuses impossible dates such as February 30. The
 * instant must fall in the years 0001–9999 (UTC): year 0 reached Postgres as an out-of-range
 * value and answered 500.
 */
export const rfc3339Schema = z.iso
  .datetime({ offset: true, error: "must be an RFC 3339 date-time with a time zone, e.g. 2025-01-31T12:00:00Z" })
  .transform((value) => new Date(value))
  .refine((date) => date.getTime() >= EARLIEST && date.getTime() <= LATEST, "must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z");
