/**
 * Query templates: PromQL with `{{placeholder}}`s that one evaluation fills in. Pure.
 *
 *   checkTemplate(template)            → problems (strings; [] when the template is usable)
 *   renderTemplate(template, values)   → the PromQL to send (call only on a checked template)
 *   promqlDuration(seconds)            → "45s" | "5m" | "2h"
 *   escapePromqlString(value, quote)   → the body of a PromQL string literal
 *
 * Placeholders (whitespace inside the braces is allowed: `{{ window }}`):
 *   {{version_set}}   the side's version set id              inside a quoted label value
 *   {{environment}}   the environment's name                 inside a quoted label value
 *   {{project}}       the project's name                     inside a quoted label value
 *   {{window}}        the interval as a PromQL duration      outside strings, e.g. [{{window}}]
 *
 * Why the placement rules: a label value is escaped for the string literal it sits in (`"…"` or
 * `'…'`: backslash, the quote and control characters), so no value can close the literal and add
 * selectors or operators. That needs to know the quote, so the template is scanned as PromQL's
 * lexer would (strings with backslash escapes, raw `…` strings, # comments). A value cannot
 * be escaped inside a raw string or made harmless outside any string, so those placements are
 * refused when the config is saved, as is a placeholder in a comment (a newline would end it).
 * Every query must use {{version_set}}: without it both sides would get the same number.
 */

export const PLACEHOLDERS = ["version_set", "window", "environment", "project"] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

const LABEL_PLACEHOLDERS = new Set<string>(["version_set", "environment", "project"]);
const KNOWN = new Set<string>(PLACEHOLDERS);

type Context = "code" | "double" | "single" | "raw" | "comment";

interface Found {
  name: string;
  start: number;
  end: number;
  context: Context;
}

interface Scan {
  found: Found[];
  /** Set when a `{{` has no closing `}}`: its offset. */
  unclosedAt?: number;
}

/** The template's placeholders with the lexical context each stands in. */
function scan(template: string): Scan {
  const found: Found[] = [];
  let context: Context = "code";
  let i = 0;
  while (i < template.length) {
    if (template.startsWith("{{", i)) {
      const close = template.indexOf("}}", i + 2);
      if (close < 0) return { found, unclosedAt: i };
      found.push({ name: template.slice(i + 2, close).trim(), start: i, end: close + 2, context });
      i = close + 2;
      continue;
    }
    const c = template[i]!;
    switch (context) {
      case "code":
        if (c === '"') context = "double";
        else if (c === "'") context = "single";
        else if (c === "`") context = "raw";
        else if (c === "#") context = "comment";
        break;
      case "double":
      case "single":
        if (c === "\\") i++;
        else if (c === (context === "double" ? '"' : "'")) context = "code";
        break;
      case "raw":
        if (c === "`") context = "code";
        break;
      case "comment":
        if (c === "\n") context = "code";
        break;
    }
    i++;
  }
  return { found };
}

const known = PLACEHOLDERS.map((p) => `{{${p}}}`).join(", ");

/** What is wrong with a template, one sentence each; [] when it can be rendered. */
export function checkTemplate(template: string): string[] {
  const { found, unclosedAt } = scan(template);
  const problems: string[] = [];
  if (unclosedAt !== undefined) problems.push(`"{{" at offset ${unclosedAt} has no closing "}}"`);
  for (const p of found) {
    const shown = `{{${p.name}}}`;
    if (!KNOWN.has(p.name)) {
      problems.push(`unknown placeholder ${JSON.stringify(shown)}; known: ${known}`);
    } else if (p.context === "comment") {
      problems.push(`${shown} stands in a # comment: placeholders belong in the query itself`);
    } else if (LABEL_PLACEHOLDERS.has(p.name) && p.context === "raw") {
      problems.push(`${shown} stands in a raw \`…\` string, where its value cannot be escaped: use double quotes, e.g. ${p.name}="${shown}"`);
    } else if (LABEL_PLACEHOLDERS.has(p.name) && p.context === "code") {
      problems.push(`${shown} must stand inside a quoted label value, e.g. ${p.name}="${shown}"`);
    } else if (p.name === "window" && p.context !== "code") {
      problems.push(`{{window}} is a duration and stands outside strings, e.g. [{{window}}]`);
    }
  }
  if (unclosedAt === undefined && !found.some((p) => p.name === "version_set")) {
    problems.push("must use {{version_set}} (e.g. version_set=\"{{version_set}}\"): without it both sides get the same number");
  }
  return problems;
}

/** The interval as a PromQL duration: whole hours, else whole minutes, else seconds. */
export function promqlDuration(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds <= 0) throw new RangeError(`a window is a whole number of seconds > 0, not ${seconds}`);
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/**
 * `value` escaped for the inside of a PromQL string literal delimited by `quote` (PromQL strings
 * follow Go's escapes): backslash and the quote get a backslash, newline/CR/tab their letter
 * escapes, other control characters \xNN.
 */
export function escapePromqlString(value: string, quote: '"' | "'"): string {
  let out = "";
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === "\\" || ch === quote) out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out;
}

export interface TemplateValues {
  version_set: string;
  environment: string;
  project: string;
  /** The window (the analysis interval) in whole seconds. */
  windowSeconds: number;
}

/** The template with every placeholder filled in. Throws on a template checkTemplate refuses. */
export function renderTemplate(template: string, values: TemplateValues): string {
  const problems = checkTemplate(template);
  if (problems.length > 0) throw new Error(`cannot render the query template: ${problems.join("; ")}`);
  const { found } = scan(template);
  let out = "";
  let at = 0;
  for (const p of found) {
    out += template.slice(at, p.start);
    if (p.name === "window") out += promqlDuration(values.windowSeconds);
    else out += escapePromqlString(values[p.name as "version_set" | "environment" | "project"], p.context === "single" ? "'" : '"');
    at = p.end;
  }
  return out + template.slice(at);
}
