/**
 * Text from the registry reaches a reviewer's terminal: a prompt, a deploy reason, a config
 * value, an error detail. A control character in it (ESC starts sequences that move the cursor,
 * erase lines, retitle the window), a bidi override or a zero-width character could make the
 * screen show something other than what is stored. Everything the CLI prints from the server is
 * shown with those characters written out visibly: ESC as `\u001b`, U+202E as `\u202e`.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;
/** The same, plus the SGR colour sequences the CLI writes itself (see sanitizeOutput). */
const UNSAFE_OR_SGR = /\u001b\[[0-9;]*m|[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;
/** What JSON.stringify leaves unescaped although a terminal acts on it (C0 it escapes already). */
const JSON_UNSAFE = /[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}]/gu;

function visible(char: string): string {
  const code = char.codePointAt(0)!;
  return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** `text` with every control, format and separator character written out; `keep` ones (e.g. "\n") stay. */
export function escapeControl(text: string, keep = ""): string {
  return text.replace(UNSAFE, (char) => (keep.includes(char) ? char : visible(char)));
}

/**
 * A copy of a JSON value (an API answer) with every string and key escaped by escapeControl,
 * keeping line breaks and tabs: renderers split multi-line text (prompt diffs) themselves.
 */
export function escapeDeep<T>(value: T): T {
  if (typeof value === "string") return escapeControl(value, "\n\t") as T;
  if (Array.isArray(value)) return value.map((item: unknown) => escapeDeep(item)) as T;
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[escapeControl(key, "\n\t")] = escapeDeep(item);
    return out as T;
  }
  return value;
}

/**
 * JSON text for `--json`: the same value (a JSON parser reads back exactly what the registry
 * sent), with DEL, C1, format and separator characters as `\uXXXX` escapes, which
 * JSON.stringify leaves raw.
 */
export function safeJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, null, indent).replace(JSON_UNSAFE, (char) =>
    Array.from({ length: char.length }, (_, i) => `\\u${char.charCodeAt(i).toString(16).padStart(4, "0")}`).join(""),
  );
}

/**
 * The last check before a line is written: line breaks, tabs and well-formed SGR colour
 * sequences (what colour.ts writes) pass, every other control character is written out. So
 * a string that reached a renderer without escapeDeep can at worst change a colour.
 */
export function sanitizeOutput(text: string): string {
  return text.replace(UNSAFE_OR_SGR, (match) => (match.startsWith("\u001b[") || match === "\n" || match === "\t" ? match : visible(match)));
}
