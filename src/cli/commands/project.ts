import { unwrap } from "../../client/client.js";
import { PinsetApiError } from "../../client/errors.js";
import { stringOption, type CommandSpec } from "../command.js";

export const projectCreate: CommandSpec = {
  name: "project create",
  summary: "Create a project (no change when it exists); needs an admin token",
  args: ["name"],
  options: { description: { type: "string", value: "text", description: "What the project is for (kept from the first creation)" } },
  examples: ["pinset project create support-bot --description 'Support assistant'"],
  async run(ctx, { args, values }) {
    const description = stringOption(values, "description");
    const result = await ctx.client.PUT("/v1/projects/{project}", {
      params: { path: { project: args.name! } },
      body: description !== undefined ? { description } : {},
    });
    const refused = result.response.status === 404 ? PinsetApiError.fromResponse(result.response, result.error) : undefined;
    if (refused?.problem && refused.code === "not_found") {
      // The registry answers 404 for a project the token does not name (it never tells whether
      // the project exists), so "Project … not found" would be the wrong words for a create.
      const error = refused;
      throw new PinsetApiError({
        status: error.status,
        code: error.code,
        detail: `Cannot create project ${args.name}: this token is limited to other projects, and creating a project takes an admin token (they cover every project)`,
        traceId: error.traceId,
      });
    }
    const project = await unwrap(result);
    ctx.output(project, (p) => (result.response.status === 201 ? `Created project ${p.name}` : `Project ${p.name} already exists`));
  },
};
