import { UsageError } from "./errors.js";

/**
 * RFC 3339 with an explicit offset, as the registry takes it (src/http/time.ts): a local time
 * without `Z` or `±hh:mm` would mean different instants on different machines, so the CLI
 * refuses it before anything is sent.
 */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;
const LOCAL = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/i;
const DURATION = /^(\d{1,6})(s|m|h|d)$/;
const SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

export const TIME_FORM = "an RFC 3339 time with a time zone, like 2025-03-01T03:10:00Z or 2025-03-01T04:10:00+01:00";

/** True when `value` is an RFC 3339 date-time with an offset and a real calendar date. */
export function isRfc3339(value: string): boolean {
  const m = RFC3339.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day && hour < 24 && minute < 60 && second < 61 && !Number.isNaN(Date.parse(value));
}

/** `--<option>` as an RFC 3339 time, refused (exit 2) with the expected form otherwise. */
export function timeOption(raw: string, option: string, command: string): string {
  if (isRfc3339(raw)) return raw;
  const why = LOCAL.test(raw) ? " (it has no time zone: add Z for UTC, or an offset such as +01:00)" : "";
  throw new UsageError(`--${option} expects ${TIME_FORM}; got "${raw}"${why}`, command);
}

/** A duration such as `90s`, `15m`, `2h`, `30d`, in milliseconds; undefined when `raw` is not one. */
export function parseDuration(raw: string): number | undefined {
  const m = DURATION.exec(raw);
  if (!m) return undefined;
  return Number(m[1]) * SECONDS[m[2] as keyof typeof SECONDS] * 1000;
}

/** `--since 2h` (that long before now) or an RFC 3339 time, as an RFC 3339 time. */
export function timeOrAgoOption(raw: string, option: string, command: string, now: Date = new Date()): string {
  const ms = parseDuration(raw);
  if (ms !== undefined) return new Date(now.getTime() - ms).toISOString();
  if (isRfc3339(raw)) return raw;
  const why = LOCAL.test(raw) ? " (it has no time zone: add Z for UTC, or an offset such as +01:00)" : "";
  throw new UsageError(`--${option} expects ${TIME_FORM}, or a duration ago such as 30m, 2h or 7d; got "${raw}"${why}`, command);
}
