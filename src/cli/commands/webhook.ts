import { unwrap } from "../../client/client.js";
import type { components } from "../../client/api-types.js";
import { stringOption, type CommandSpec } from "../command.js";
import { readLocalFile } from "../content-file.js";
import type { CommandContext } from "../context.js";
import { InputError, UsageError } from "../errors.js";
import { commaList } from "../list-option.js";
import { fetchPages, moreLine, PAGE_OPTIONS } from "../paging.js";
import { table } from "../render/format.js";

type WebhookEvent = components["schemas"]["WebhookEvent"];
const EVENTS: readonly WebhookEvent[] = ["environment.changed", "rollout.changed", "artifact.published", "version_set.created"];

async function readStdin(ctx: CommandContext): Promise<string> {
  const stdin = ctx.io.stdin?.();
  if (!stdin) throw new InputError("cannot read the secret from stdin here", "webhook add");
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString("utf8");
}

/** The signing secret: from a file (or stdin), so it stays out of the shell history and `ps`. */
async function secretOf(ctx: CommandContext, values: Record<string, unknown>): Promise<string> {
  const inline = typeof values.secret === "string" ? values.secret : undefined;
  const file = typeof values["secret-file"] === "string" ? values["secret-file"] : undefined;
  if (inline !== undefined && file !== undefined) throw new UsageError("give --secret or --secret-file, not both", "webhook add");
  if (inline === undefined && file === undefined) throw new UsageError("missing --secret-file <path> (or - for stdin), or --secret <text>", "webhook add");
  // A file ends in a newline that is not part of the secret.
  const secret = inline ?? (file === "-" ? await readStdin(ctx) : await readLocalFile(file!, "webhook add")).replace(/\r?\n$/, "");
  if (secret.length < 16 || secret.length > 256) throw new InputError(`the webhook secret must be 16–256 characters, got ${secret.length}`, "webhook add");
  return secret;
}

export const webhookAdd: CommandSpec = {
  name: "webhook add",
  summary: "Subscribe a URL to the project's events (admin); deliveries are signed with the secret",
  args: ["url"],
  options: {
    event: { type: "string", multiple: true, value: "event", description: `${EVENTS.join(", ")} (repeatable, or comma-separated)` },
    "secret-file": { type: "string", value: "path", description: "A file holding the signing secret (16–256 characters); - reads stdin" },
    secret: { type: "string", value: "text", description: "The signing secret itself (visible in the process list: prefer --secret-file)" },
  },
  examples: ["openssl rand -hex 32 > hook.secret && pinset webhook add https://ci.example.com/pinset --event environment.changed --secret-file hook.secret"],
  async run(ctx, { args, values }) {
    const events = commaList(values, "event");
    if (events.length === 0) throw new UsageError(`missing --event (${EVENTS.join(", ")})`, "webhook add");
    const unknown = events.find((e) => !(EVENTS as readonly string[]).includes(e));
    if (unknown !== undefined) throw new UsageError(`unknown event "${unknown}": use ${EVENTS.join(", ")}`, "webhook add");
    if (!/^https?:\/\/[^/]/i.test(args.url!)) throw new UsageError(`<url> must be an http:// or https:// URL, got "${args.url}"`, "webhook add");
    const secret = await secretOf(ctx, values);
    const hook = await unwrap(
      ctx.client.POST("/v1/projects/{project}/webhooks", {
        params: { path: { project: ctx.project } },
        body: { url: args.url!, events: [...new Set(events)] as WebhookEvent[], secret },
      }),
    );
    ctx.output(hook, (h) => `Added webhook ${h.id}: ${h.events.join(", ")} → ${h.url}`);
  },
};

export const webhookLs: CommandSpec = {
  name: "webhook ls",
  summary: "List the project's webhooks (admin; never their secrets)",
  args: [],
  options: PAGE_OPTIONS,
  examples: ["pinset webhook ls"],
  async run(ctx, { values }) {
    const project = ctx.project;
    const page = await fetchPages(values, "webhook ls", (query) => unwrap(ctx.client.GET("/v1/projects/{project}/webhooks", { params: { path: { project }, query } })));
    ctx.output(page, (p) => {
      if (p.items.length === 0) return `No webhooks in ${project}`;
      return [...table(["ID", "EVENTS", "CREATED", "URL"], p.items.map((h) => [h.id, h.events.join(","), h.created_at, h.url])), ...moreLine(ctx, p)];
    });
  },
};

export const webhookRm: CommandSpec = {
  name: "webhook rm",
  summary: "Remove a webhook (admin); its pending retries are dropped",
  args: ["id"],
  examples: ["pinset webhook rm wh_0123456789abcdef"],
  async run(ctx, { args }) {
    await unwrap(ctx.client.DELETE("/v1/projects/{project}/webhooks/{id}", { params: { path: { project: ctx.project, id: args.id! } } }));
    ctx.output({ id: args.id!, removed: true }, () => `Removed webhook ${args.id}`);
  },
};

export const webhookDeliveries: CommandSpec = {
  name: "webhook deliveries",
  summary: "List a webhook's delivery attempts, newest first: event, status, error",
  args: ["id"],
  options: PAGE_OPTIONS,
  examples: ["pinset webhook deliveries wh_0123456789abcdef --limit 20"],
  async run(ctx, { args, values }) {
    const project = ctx.project;
    const page = await fetchPages(values, "webhook deliveries", (query) =>
      unwrap(ctx.client.GET("/v1/projects/{project}/webhooks/{id}/deliveries", { params: { path: { project, id: args.id! }, query } })),
    );
    ctx.output(page, (p) => {
      if (p.items.length === 0) return `No delivery attempts for ${args.id} yet`;
      const rows = p.items.map((d) => [d.at, d.event, String(d.attempt), d.status_code === null ? "-" : String(d.status_code), d.error ?? "ok", d.delivery_id]);
      return [...table(["AT", "EVENT", "ATTEMPT", "STATUS", "RESULT", "DELIVERY"], rows), ...moreLine(ctx, p)];
    });
  },
};
