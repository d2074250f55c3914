/**
 * Code-unit order: deterministic and locale-independent (the order RFC 8785 sorts keys in).
 * Every sort whose result is stored, hashed or shown in a diff uses it.
 */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
