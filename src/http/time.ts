import { z } from "zod";

/**
 * An RFC 3339 timestamp with an explicit offset (`Z` or `±hh:mm`); a local time without one
 * is ambiguous and refused. zod also refuses impossible dates such as February 30.
 */
export const rfc3339Schema = z.iso
  .datetime({ offset: true, error: "must be an RFC 3339 date-time with a time zone, e.g. 2025-01-31T12:00:00Z" })
  .transform((value) => new Date(value));
