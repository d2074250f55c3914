import { createHash } from "node:crypto";

/** Fixture builders: valid content for each kind, with overrides. */
export const content = {
  prompt: (template = "Answer {{question}} politely.", variables: string[] | undefined = ["question"]) =>
    variables ? { template, variables } : { template },
  chat: (system = "You are terse.", user = "{{question}}") => ({
    messages: [
      { role: "system", content: system },
      { role: "user", content: user },
    ],
    variables: ["question"],
  }),
  contract: (schema: unknown = { type: "object", required: ["answer"], properties: { answer: { type: "string" } } }) => ({ schema }),
  model: (params: Record<string, unknown> = { temperature: 0.2 }) => ({ provider: "openai", model: "gpt-4o-mini", revision: "2024-07-18", params }),
  config: (values: Record<string, unknown> = { retries: 3 }) => ({ values }),
  tools: () => ({
    tools: [{ name: "search", description: "Search the KB", input_schema: { type: "object", properties: { q: { type: "string" } }, required: ["q"] } }],
  }),
};

export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}
