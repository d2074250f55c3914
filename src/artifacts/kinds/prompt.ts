import { z } from "zod";
import type { FieldError } from "../../core/errors.js";
import type { KindValidator } from "./types.js";
import { contentErrors, type ContentShape } from "./shape-errors.js";

/** `{{ name }}` placeholders; names are identifiers, optionally dotted (`user.name`). */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

const variables = z.array(z.string().regex(VARIABLE_NAME, "must be a placeholder name like user_name")).max(1000).optional();

const templatePrompt = z.strictObject({ template: z.string().max(1_000_000), variables });
const chatPrompt = z.strictObject({
  messages: z
    .array(z.strictObject({ role: z.string().min(1).max(64), content: z.string().max(1_000_000) }))
    .min(1, "a chat prompt needs at least one message")
    .max(1000),
  variables,
});

export const PROMPT_SHAPE: ContentShape = {
  root: 'a prompt is {"template": "Hi {{name}}", "variables"?: ["name"]} or {"messages": [{"role": "system", "content": "…"}, …], "variables"?: […]}',
  nested: { "messages[]": 'a prompt message is {"role": "system", "content": "…"}' },
};

export type PromptContent = z.infer<typeof templatePrompt> | z.infer<typeof chatPrompt>;

/** Every placeholder used in the text(s), in first-use order. */
export function extractPlaceholders(texts: string[]): string[] {
  const seen = new Set<string>();
  for (const text of texts) for (const m of text.matchAll(PLACEHOLDER)) seen.add(m[1]!);
  return [...seen];
}

export function promptTexts(content: PromptContent): string[] {
  return "template" in content ? [content.template] : content.messages.map((m) => m.content);
}

export const promptKind: KindValidator = {
  kind: "prompt",
  validate(content) {
    const isChat = typeof content === "object" && content !== null && "messages" in content;
    const parsed = (isChat ? chatPrompt : templatePrompt).safeParse(content);
    if (!parsed.success) return { errors: contentErrors(parsed.error, content, PROMPT_SHAPE) };
    const declared = parsed.data.variables;
    if (!declared) return { errors: [] };
    const used = extractPlaceholders(promptTexts(parsed.data));
    const errors: FieldError[] = [];
    const declaredSet = new Set(declared);
    for (const name of used) {
      if (!declaredSet.has(name)) errors.push({ path: "content.variables", message: `placeholder {{${name}}} is used but not declared` });
    }
    const usedSet = new Set(used);
    for (const name of declared) {
      if (!usedSet.has(name)) errors.push({ path: "content.variables", message: `variable "${name}" is declared but never used` });
    }
    if (declaredSet.size !== declared.length) errors.push({ path: "content.variables", message: "variables must be unique" });
    return { errors };
  },
};
