/**
 * The `prompt` differ. A prompt is rendered to one text and diffed line by line, so template
 * and chat prompts — and a change from one form to the other — read the same way:
 * - `{"template": s}` renders as `s`, byte for byte (a missing final newline stays visible);
 * - `{"messages": [...]}` renders each message as `[role]\n<content>\n`, separated by a blank
 *   line; content that is not a string (e.g. multimodal parts) renders as indented JSON.
 * `unified` is always present ("" when the rendered texts are equal). `variables` lists the
 * declared names that were added or removed, sorted; it is an addition to the API's detail.
 */
import { compareStrings, isPlainObject } from "./config.js";
import { unifiedDiff } from "./text-diff.js";

export interface PromptDiff {
  unified: string;
  variables: { added: string[]; removed: string[] };
}

export interface PromptDiffOptions {
  fromLabel?: string;
  toLabel?: string;
}

export function renderPrompt(content: unknown): string {
  if (isPlainObject(content) && Array.isArray(content.messages)) {
    return content.messages
      .map((message) => {
        const role = isPlainObject(message) && typeof message.role === "string" ? message.role : "?";
        const body = isPlainObject(message) ? message.content : message;
        return `[${role}]\n${typeof body === "string" ? body : JSON.stringify(body, null, 2)}\n`;
      })
      .join("\n");
  }
  if (isPlainObject(content) && typeof content.template === "string") return content.template;
  // Content that passed validation never gets here; render something diffable rather than throw.
  return `${JSON.stringify(content, null, 2)}\n`;
}

function declaredVariables(content: unknown): Set<string> {
  const list = isPlainObject(content) && Array.isArray(content.variables) ? content.variables : [];
  return new Set(list.filter((name): name is string => typeof name === "string"));
}

export function diffPrompt(from: unknown, to: unknown, options: PromptDiffOptions = {}): PromptDiff {
  const before = declaredVariables(from);
  const after = declaredVariables(to);
  return {
    unified: unifiedDiff(renderPrompt(from), renderPrompt(to), {
      fromLabel: options.fromLabel ?? "prompt",
      toLabel: options.toLabel ?? options.fromLabel ?? "prompt",
    }),
    variables: {
      added: [...after].filter((name) => !before.has(name)).sort(compareStrings),
      removed: [...before].filter((name) => !after.has(name)).sort(compareStrings),
    },
  };
}
