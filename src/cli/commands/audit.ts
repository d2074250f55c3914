import { unwrap } from "../../client/client.js";
import { stringOption, type CommandSpec } from "../command.js";
import { UsageError } from "../errors.js";
import { fetchPages, moreLine, PAGE_OPTIONS } from "../paging.js";
import { table } from "../render/format.js";
import { timeOrAgoOption } from "../time.js";

const ACTION = /^[a-z0-9][a-z0-9._-]{0,127}$/;

export const audit: CommandSpec = {
  name: "audit",
  summary: "Read the audit log, newest first: who changed what, when, with which trace id",
  args: [],
  options: {
    action: { type: "string", value: "action", description: "Only this action, e.g. environment.deploy, artifact.publish, token.create" },
    since: { type: "string", value: "time", description: "From this time on: RFC 3339 with a time zone, or a duration ago (30m, 2h, 7d)" },
    until: { type: "string", value: "time", description: "Before this time (same forms as --since)" },
    "all-projects": { type: "boolean", description: "Every project's entries and those of no project (tokens); admin only" },
    ...PAGE_OPTIONS,
  },
  examples: ["pinset audit --since 24h", "pinset audit --action environment.deploy --limit 10", "pinset audit --all-projects --action token.create --json"],
  async run(ctx, { values }) {
    const action = stringOption(values, "action");
    if (action !== undefined && !ACTION.test(action)) throw new UsageError(`--action expects an action name like environment.deploy, got "${action}"`, "audit");
    const sinceRaw = stringOption(values, "since");
    const untilRaw = stringOption(values, "until");
    const since = sinceRaw !== undefined ? timeOrAgoOption(sinceRaw, "since", "audit") : undefined;
    const until = untilRaw !== undefined ? timeOrAgoOption(untilRaw, "until", "audit") : undefined;
    if (since !== undefined && until !== undefined && Date.parse(since) >= Date.parse(until)) throw new UsageError("--since must be before --until", "audit");
    const filters = { ...(action !== undefined ? { action } : {}), ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}) };
    const everywhere = values["all-projects"] === true;
    const project = everywhere ? undefined : ctx.project;
    const page = await fetchPages(values, "audit", (query) =>
      project === undefined
        ? unwrap(ctx.client.GET("/v1/audit", { params: { query: { ...filters, ...query } } }))
        : unwrap(ctx.client.GET("/v1/projects/{project}/audit", { params: { path: { project }, query: { ...filters, ...query } } })),
    );
    ctx.output(page, (p) => {
      if (p.items.length === 0) return "No audit entries match";
      const rows = p.items.map((e) => [e.at, ...(everywhere ? [e.project ?? "-"] : []), e.actor, e.action, e.target, e.trace_id ?? "-"]);
      return [...table(["AT", ...(everywhere ? ["PROJECT"] : []), "ACTOR", "ACTION", "TARGET", "TRACE"], rows), ...moreLine(ctx, p)];
    });
  },
};
