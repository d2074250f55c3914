import { unwrap } from "../../client/client.js";
import type { CommandSpec } from "../command.js";
import type { CommandContext } from "../context.js";
import { CliError, EXIT } from "../errors.js";
import { renderDiff } from "../render/diff.js";

const VERSION_SET_ID = /^vs_[0-9a-f]{24}$/;

/** A version set ID as is, or an environment name standing for its active set. */
async function toSetId(ctx: CommandContext, value: string): Promise<string> {
  if (VERSION_SET_ID.test(value)) return value;
  const env = await unwrap(ctx.client.GET("/v1/projects/{project}/environments/{env}", { params: { path: { project: ctx.project, env: value } } }));
  if (!env.active) throw new CliError(`nothing is deployed to ${value} yet`, EXIT.notFound);
  return env.active;
}

export const diff: CommandSpec = {
  name: "diff",
  summary: "Compare two version sets slot by slot (IDs, or environment names for their active sets)",
  args: ["from", "to"],
  description: [
    "Prompts show a unified text diff, contracts and tools their breaking changes (in red),",
    "models and configs their field changes as a → b, indexes the files added, removed, changed.",
    "Colour only on a terminal, and never with NO_COLOR set.",
  ].join("\n"),
  examples: ["pinset diff vs_0123456789abcdef01234567 vs_89abcdef0123456789abcdef", "pinset diff production staging"],
  async run(ctx, { args }) {
    const [from, to] = await Promise.all([toSetId(ctx, args.from!), toSetId(ctx, args.to!)]);
    const result = await unwrap(ctx.client.GET("/v1/projects/{project}/diff", { params: { path: { project: ctx.project }, query: { from, to } } }));
    ctx.output(result, (d) => renderDiff(d, ctx.colour));
  },
};
