/**
 * Splits a migration file into single statements. PGlite runs queries through the extended
 * protocol, which accepts one statement at a time, so the same plain-SQL file must be cut at
 * top-level semicolons. Quotes, dollar-quoted bodies and comments are honoured so a `;` inside
 * a function body or string never splits.
 */
export function splitSqlStatements(source: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  const n = source.length;
  while (i < n) {
    const ch = source[i]!;
    const next = source[i + 1];
    if (ch === "-" && next === "-") {
      const end = source.indexOf("\n", i);
      i = end === -1 ? n : end + 1;
    } else if (ch === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      i = end === -1 ? n : end + 2;
    } else if (ch === "'" || ch === '"') {
      i = skipQuoted(source, i, ch);
    } else if (ch === "$") {
      const tag = /^\$[A-Za-z_]*\$/.exec(source.slice(i))?.[0];
      if (tag) {
        const end = source.indexOf(tag, i + tag.length);
        i = end === -1 ? n : end + tag.length;
      } else {
        i += 1;
      }
    } else if (ch === ";") {
      push(source.slice(start, i));
      i += 1;
      start = i;
    } else {
      i += 1;
    }
  }
  push(source.slice(start));
  return statements;

  function push(text: string): void {
    const withoutComments = text.replace(/--[^\n]*\n?/g, "").trim();
    if (withoutComments.length > 0) statements.push(text.trim());
  }
}

function skipQuoted(source: string, from: number, quote: string): number {
  let i = from + 1;
  while (i < source.length) {
    if (source[i] === quote) {
      if (source[i + 1] === quote) i += 2; // doubled quote is an escaped quote
      else return i + 1;
    } else {
      i += 1;
    }
  }
  return source.length;
}
