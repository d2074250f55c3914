import { unwrap } from "../../client/client.js";
import { stringOption, type CommandSpec } from "../command.js";

export const projectCreate: CommandSpec = {
  name: "project create",
  summary: "Create a project (no change when it exists)",
  args: ["name"],
  options: { description: { type: "string", value: "text", description: "What the project is for (kept from the first creation)" } },
  examples: ["pinset project create support-bot --description 'Support assistant'"],
  async run(ctx, { args, values }) {
    const description = stringOption(values, "description");
    const result = await ctx.client.PUT("/v1/projects/{project}", {
      params: { path: { project: args.name! } },
      body: description !== undefined ? { description } : {},
    });
    const project = await unwrap(result);
    ctx.output(project, (p) => (result.response.status === 201 ? `Created project ${p.name}` : `Project ${p.name} already exists`));
  },
};
