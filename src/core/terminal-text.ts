/**
 * Characters that change what a terminal or a review screen shows instead of showing
 * themselves: C0 and C1 controls and DEL (`\p{Cc}`: ESC starts escape sequences that move the
 * cursor, erase lines or retitle the window), format characters (`\p{Cf}`: bidi overrides,
 * isolates and marks U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, zero-width U+200B–U+200D,
 * U+2060, the BOM U+FEFF, soft hyphen …) and the line and paragraph separators. Text that is
 * an identifier — a file path in an index, a tool permission — must not contain them.
 */
export const TERMINAL_UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** Why `text` is refused, naming the first such character and where it is; undefined when clean. */
export function terminalUnsafeProblem(text: string): string | undefined {
  const match = TERMINAL_UNSAFE.exec(text);
  if (!match) return undefined;
  const code = match[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
  return `must not contain control, bidirectional or zero-width characters (U+${code} at character ${match.index + 1})`;
}
