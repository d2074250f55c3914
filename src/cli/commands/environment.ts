import { unwrap } from "../../client/client.js";
import { integerOption, stringOption, type CommandSpec } from "../command.js";
import { UsageError } from "../errors.js";
import { timeOption } from "../time.js";
import { table } from "../render/format.js";
import { renderVersionSet } from "./set.js";

export const deploy: CommandSpec = {
  name: "deploy",
  summary: "Make a version set the active one of an environment",
  args: ["env", "set"],
  options: {
    "expect-revision": { type: "string", value: "n", description: "Refuse (exit 3) unless the environment is at this revision" },
    reason: { type: "string", value: "text", description: "Why, recorded in the history" },
    "acknowledge-incident": { type: "string", value: "id", description: "Deploy while this incident is open on the environment (else exit 3, incident_open); recorded" },
  },
  examples: ["pinset deploy staging $ID --reason 'nightly build'", "pinset deploy production $ID --expect-revision 41", "pinset deploy production $FIX --acknowledge-incident inc_… --reason 'hotfix'"],
  async run(ctx, { args, values }) {
    const expected = integerOption(values, "expect-revision", "deploy", { min: 0 });
    const reason = stringOption(values, "reason");
    const acknowledge = stringOption(values, "acknowledge-incident");
    const result = await unwrap(
      ctx.client.POST("/v1/projects/{project}/environments/{env}/deploy", {
        params: { path: { project: ctx.project, env: args.env! } },
        body: {
          version_set: args.set!,
          ...(expected !== undefined ? { expected_revision: expected } : {}),
          ...(reason !== undefined ? { reason } : {}),
          ...(acknowledge !== undefined ? { acknowledge_incident: acknowledge } : {}),
        },
      }),
    );
    ctx.output(result, (r) =>
      r.changed === false ? `${r.active} is already active in ${args.env}: nothing changed (revision ${r.revision})` : `Deployed ${r.active} to ${args.env} (revision ${r.revision})`,
    );
  },
};

export const rollback: CommandSpec = {
  name: "rollback",
  summary: "Switch an environment back to its previous version set (or to --to)",
  args: ["env"],
  options: {
    to: { type: "string", value: "id", description: "The version set to switch to (default: the one active before the current one)" },
    reason: { type: "string", value: "text", description: "Why, recorded in the history" },
  },
  examples: ["pinset rollback production --reason 'answers regressed'", "pinset rollback production --to vs_0123456789abcdef01234567"],
  async run(ctx, { args, values }) {
    const to = stringOption(values, "to");
    const reason = stringOption(values, "reason");
    const result = await unwrap(
      ctx.client.POST("/v1/projects/{project}/environments/{env}/rollback", {
        params: { path: { project: ctx.project, env: args.env! } },
        body: { ...(to !== undefined ? { to } : {}), ...(reason !== undefined ? { reason } : {}) },
      }),
    );
    ctx.output(result, (r) => `Rolled back ${args.env} to ${r.active} (revision ${r.revision})`);
  },
};

export const history: CommandSpec = {
  name: "history",
  summary: "List an environment's changes, newest first: who switched what, when and why",
  args: ["env"],
  options: { limit: { type: "string", value: "n", description: "How many entries (default 50, at most 500)" } },
  examples: ["pinset history production --limit 10"],
  async run(ctx, { args, values }) {
    const limit = integerOption(values, "limit", "history", { min: 1, max: 500 });
    const page = await unwrap(
      ctx.client.GET("/v1/projects/{project}/environments/{env}/history", {
        params: { path: { project: ctx.project, env: args.env! }, query: limit !== undefined ? { limit } : {} },
      }),
    );
    ctx.output(page, (p) => {
      if (p.items.length === 0) return `No changes in ${args.env} yet`;
      const rows = p.items.map((e) => [String(e.revision), e.action, e.version_set ?? "-", e.previous ?? "-", e.actor, e.at, e.reason ?? ""]);
      const lines = table(["REV", "ACTION", "VERSION SET", "PREVIOUS", "ACTOR", "AT", "REASON"], rows);
      if (p.next_cursor) lines.push(ctx.colour.dim("(more: raise --limit)"));
      return lines;
    });
  },
};

export const resolve: CommandSpec = {
  name: "resolve",
  summary: "Show the bundle an environment serves (now, for a subject, or at a past time)",
  args: ["env"],
  options: {
    subject: { type: "string", value: "s", description: "Who asks (user, tenant): decides the rollout assignment" },
    at: { type: "string", value: "time", description: "What was active then: RFC 3339 with a time zone (2025-03-01T03:10:00Z)" },
  },
  examples: ["pinset resolve production", "pinset resolve production --at 2025-03-01T03:10:00Z", "pinset resolve production --subject tenant-42 --json"],
  async run(ctx, { args, values }) {
    const subject = stringOption(values, "subject");
    const at = stringOption(values, "at");
    if (at !== undefined) timeOption(at, "at", "resolve");
    if (at !== undefined && subject !== undefined) throw new UsageError("--at and --subject cannot be combined: a past rollout's assignments are not kept", "resolve");
    const result = await ctx.client.GET("/v1/projects/{project}/environments/{env}/resolve", {
      params: {
        path: { project: ctx.project, env: args.env! },
        query: { ...(subject !== undefined ? { subject } : {}), ...(at !== undefined ? { at } : {}) },
      },
    });
    const bundle = await unwrap(result);
    ctx.output(bundle, (b) => {
      const headers = result.response.headers;
      const notes = [
        headers.get("x-pinset-assignment") ? `assignment: ${headers.get("x-pinset-assignment")}` : "",
        at !== undefined ? `at ${at}` : "",
        headers.get("x-pinset-stale") === "true" ? ctx.colour.yellow("stale: the registry's database is unavailable") : "",
      ].filter(Boolean);
      return [`${args.env} → ${b.id}${notes.length ? `  (${notes.join(", ")})` : ""}`, ...renderVersionSet(ctx, b)];
    });
  },
};
