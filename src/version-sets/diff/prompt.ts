/**
 * The `prompt` differ. A prompt is rendered to one text and diffed line by line, so template
 * and chat prompts — and a change from one form to the other — read the same way:
 * - `{"template": s}` renders as `s`;
 * - `{"messages": [...]}` renders each message as `[role]\n<content>\n`, separated by a blank
 *   line; content that is not a string (e.g. multimodal parts) renders as indented JSON.
 *
 * Trailing newlines are not compared: the template, and each message's content, is compared
 * with its trailing line breaks (`\n`, `\r\n`) replaced by one `\n`. A prompt published from a
 * file (which ends in a newline) and the same text published through the API (which usually
 * does not) therefore show no text change — no `\ No newline at end of file` noise. Their
 * digests still differ (the slot is `changed`); `trailing_newlines_differ: true` then says that
 * this is all that differs in the text. Every other byte, inner blank lines included, is compared.
 *
 * `unified` is always present ("" when the compared texts are equal). `variables` lists the
 * declared names that were added or removed, sorted; it is an addition to the API's detail.
 */
import { isPlainObject } from "./config.js";
import { compareCodeUnits } from "../../core/compare.js";
import { unifiedDiff } from "./text-diff.js";

export interface PromptDiff {
  unified: string;
  variables: { added: string[]; removed: string[] };
  /** Present (true) only when the texts differ in nothing but trailing line breaks. */
  trailing_newlines_differ?: true;
}

export interface PromptDiffOptions {
  fromLabel?: string;
  toLabel?: string;
}

const TRAILING_BREAKS = /(?:\r?\n)+$/;

/** `text` ending in exactly one "\n" (and "" for a text of nothing but line breaks). */
export function withOneTrailingNewline(text: string): string {
  const body = text.replace(TRAILING_BREAKS, "");
  return body === "" ? "" : `${body}\n`;
}

function render(content: unknown, compare: boolean): string {
  if (isPlainObject(content) && Array.isArray(content.messages)) {
    return content.messages
      .map((message) => {
        const role = isPlainObject(message) && typeof message.role === "string" ? message.role : "?";
        const body = isPlainObject(message) ? message.content : message;
        const text = typeof body === "string" ? (compare ? body.replace(TRAILING_BREAKS, "") : body) : JSON.stringify(body, null, 2);
        return `[${role}]\n${text}\n`;
      })
      .join("\n");
  }
  if (isPlainObject(content) && typeof content.template === "string") return compare ? withOneTrailingNewline(content.template) : content.template;
  // Content that passed validation never gets here; render something diffable rather than throw.
  return `${JSON.stringify(content, null, 2)}\n`;
}

/** The prompt as one text, byte for byte (template as is, messages as `[role]\n<content>\n`). */
export function renderPrompt(content: unknown): string {
  return render(content, false);
}

/** The text the differ compares: renderPrompt with trailing line breaks normalised (see above). */
export function comparablePrompt(content: unknown): string {
  return render(content, true);
}

function declaredVariables(content: unknown): Set<string> {
  const list = isPlainObject(content) && Array.isArray(content.variables) ? content.variables : [];
  return new Set(list.filter((name): name is string => typeof name === "string"));
}

export function diffPrompt(from: unknown, to: unknown, options: PromptDiffOptions = {}): PromptDiff {
  const before = declaredVariables(from);
  const after = declaredVariables(to);
  const unified = unifiedDiff(comparablePrompt(from), comparablePrompt(to), {
    fromLabel: options.fromLabel ?? "prompt",
    toLabel: options.toLabel ?? options.fromLabel ?? "prompt",
  });
  const breaksDiffer = unified === "" && renderPrompt(from) !== renderPrompt(to);
  return {
    unified,
    variables: {
      added: [...after].filter((name) => !before.has(name)).sort(compareCodeUnits),
      removed: [...before].filter((name) => !after.has(name)).sort(compareCodeUnits),
    },
    ...(breaksDiffer ? { trailing_newlines_differ: true as const } : {}),
  };
}
