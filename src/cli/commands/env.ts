import { unwrap } from "../../client/client.js";
import type { Environment } from "../../client/index.js";
import type { CommandSpec } from "../command.js";
import type { CommandContext } from "../context.js";

function describe(ctx: CommandContext, env: Environment): string[] {
  const { bold, dim, yellow, red } = ctx.colour;
  const flags = [env.protected ? yellow("protected") : "", env.frozen ? red("frozen") : ""].filter(Boolean);
  const lines = [`${bold(env.name)}${flags.length ? `  ${flags.join(" ")}` : ""}`];
  lines.push(`  active    ${env.active ?? dim("(nothing deployed)")}`);
  lines.push(`  revision  ${env.revision}`);
  lines.push(`  updated   ${env.updated_at}`);
  if (env.rollout) {
    const r = env.rollout;
    lines.push(`  rollout   ${r.candidate} at ${r.percent}% (${r.state})`);
  }
  return lines;
}

export const envCreate: CommandSpec = {
  name: "env create",
  summary: "Create an environment (or change whether it is protected)",
  args: ["env"],
  options: { protected: { type: "boolean", description: "Only tokens that name this environment may deploy to it" } },
  examples: ["pinset env create staging", "pinset env create production --protected"],
  async run(ctx, { args, values }) {
    const result = await ctx.client.PUT("/v1/projects/{project}/environments/{env}", {
      params: { path: { project: ctx.project, env: args.env! } },
      body: values.protected === true ? { protected: true } : {},
    });
    const env = await unwrap(result);
    ctx.output(env, (e) => {
      const suffix = e.protected ? " (protected)" : "";
      if (result.response.status === 201) return `Created environment ${e.name}${suffix}`;
      return values.protected === true ? `Updated environment ${e.name}${suffix}` : `Environment ${e.name} already exists${suffix}`;
    });
  },
};

export const envShow: CommandSpec = {
  name: "env show",
  summary: "Show an environment: active set, revision, rollout",
  args: ["env"],
  examples: ["pinset env show production", "pinset env show staging --json | jq .revision"],
  async run(ctx, { args }) {
    const env = await unwrap(ctx.client.GET("/v1/projects/{project}/environments/{env}", { params: { path: { project: ctx.project, env: args.env! } } }));
    ctx.output(env, (e) => describe(ctx, e));
  },
};

export const envFreeze: CommandSpec = {
  name: "env freeze",
  summary: "Stop every deploy, rollback and new rollout on an environment until an admin unfreezes it",
  args: ["env"],
  options: { reason: { type: "string", value: "text", description: "Why, recorded in the history" } },
  examples: ["pinset env freeze production --reason 'incident: answers leak PII'"],
  async run(ctx, { args, values }) {
    const reason = typeof values.reason === "string" ? values.reason : undefined;
    const params = { path: { project: ctx.project, env: args.env! } };
    const before = await unwrap(ctx.client.GET("/v1/projects/{project}/environments/{env}", { params }));
    const env = await unwrap(ctx.client.POST("/v1/projects/{project}/environments/{env}/freeze", { params, body: reason !== undefined ? { reason } : {} }));
    const froze = !before.frozen && env.revision > before.revision;
    ctx.output(env, (e) =>
      froze ? `Froze ${e.name}: deploys, rollbacks and new rollouts answer 423 until an admin unfreezes (revision ${e.revision})` : `${e.name} was already frozen: nothing changed (revision ${e.revision})`,
    );
  },
};

export const envUnfreeze: CommandSpec = {
  name: "env unfreeze",
  summary: "Lift the freeze a 'stop' gate decision put on an environment",
  args: ["env"],
  options: { reason: { type: "string", value: "text", description: "Why, recorded in the history" } },
  examples: ["pinset env unfreeze production --reason 'injection fixed in vs_…'"],
  async run(ctx, { args, values }) {
    const reason = typeof values.reason === "string" ? values.reason : undefined;
    const params = { path: { project: ctx.project, env: args.env! } };
    // The answer is the environment either way; only the state before tells an unfreeze from a no-op.
    const before = await unwrap(ctx.client.GET("/v1/projects/{project}/environments/{env}", { params }));
    const env = await unwrap(ctx.client.POST("/v1/projects/{project}/environments/{env}/unfreeze", { params, body: reason !== undefined ? { reason } : {} }));
    const unfroze = before.frozen && env.revision > before.revision;
    ctx.output(env, (e) =>
      unfroze
        ? `Unfroze ${e.name}: deploys and rollouts are accepted again (revision ${e.revision})`
        : `${e.name} was not frozen: nothing changed (revision ${e.revision})`,
    );
  },
};
