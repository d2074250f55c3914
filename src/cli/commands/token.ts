import { unwrap } from "../../client/client.js";
import type { components } from "../../client/api-types.js";
import { stringOption, type CommandSpec } from "../command.js";
import { UsageError } from "../errors.js";
import { commaList } from "../list-option.js";
import { fetchPages, moreLine, PAGE_OPTIONS } from "../paging.js";
import { table } from "../render/format.js";
import { parseDuration, timeOption } from "../time.js";

type Scope = components["schemas"]["Scope"];
type Token = components["schemas"]["Token"];
const SCOPES: readonly Scope[] = ["read", "publish", "deploy", "admin"];
const NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;

function tokenState(t: Token, now = Date.now()): string {
  if (t.revoked_at) return "revoked";
  if (t.expires_at && Date.parse(t.expires_at) <= now) return "expired";
  return "active";
}

export const tokenCreate: CommandSpec = {
  name: "token create",
  summary: "Create an API token (admin); prints the secret once, on stdout",
  args: ["name"],
  options: {
    scope: { type: "string", multiple: true, value: "scope", description: `${SCOPES.join(", ")} (repeatable, or comma-separated)` },
    projects: { type: "string", value: "list", description: "Comma-separated projects it may use, or '*' for all (default: the current project; admin: '*')" },
    envs: { type: "string", value: "list", description: "Comma-separated environments it may see and deploy to (default: all)" },
    expires: { type: "string", value: "time", description: "When it stops working: an RFC 3339 time with a time zone" },
    "expires-in": { type: "string", value: "duration", description: "When it stops working, from now: 90m, 12h, 30d" },
  },
  description: [
    "The secret is printed once, alone on stdout (TOKEN=$(pinset token create …) keeps it out of",
    "the terminal); the registry stores only its hash. --json prints the whole answer, secret included.",
  ].join("\n"),
  examples: [
    "pinset token create ci-support-bot --scope publish,deploy --projects support-bot --envs staging --expires-in 90d",
    "pinset token create dashboards --scope read --projects '*'",
  ],
  async run(ctx, { args, values }) {
    const scopes = commaList(values, "scope");
    if (scopes.length === 0) throw new UsageError(`missing --scope (${SCOPES.join(", ")})`, "token create");
    const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
    if (unknown.length > 0) throw new UsageError(`unknown scope "${unknown[0]}": use ${SCOPES.join(", ")}`, "token create");
    const projectsRaw = stringOption(values, "projects");
    let projects = projectsRaw !== undefined ? projectsRaw.split(",").map((p) => p.trim()).filter(Boolean) : undefined;
    if (projects === undefined) {
      if (scopes.includes("admin")) projects = ["*"];
      else if (ctx.options.project) projects = [ctx.options.project];
      else throw new UsageError("missing --projects <list> (or '*'), and no current project (-p / PINSET_PROJECT) to default to", "token create");
    }
    const bad = projects.find((p) => p !== "*" && !NAME.test(p));
    if (projects.length === 0 || bad !== undefined) throw new UsageError(`--projects expects project names or '*', got "${projectsRaw}"`, "token create");
    const envs = stringOption(values, "envs")?.split(",").map((e) => e.trim()).filter(Boolean);
    const expiresRaw = stringOption(values, "expires");
    const expiresIn = stringOption(values, "expires-in");
    if (expiresRaw !== undefined && expiresIn !== undefined) throw new UsageError("give --expires or --expires-in, not both", "token create");
    let expiresAt = expiresRaw !== undefined ? timeOption(expiresRaw, "expires", "token create") : undefined;
    if (expiresIn !== undefined) {
      const ms = parseDuration(expiresIn);
      if (ms === undefined || ms === 0) throw new UsageError(`--expires-in expects a duration such as 90m, 12h or 30d, got "${expiresIn}"`, "token create");
      expiresAt = new Date(Date.now() + ms).toISOString();
    }
    const created = await unwrap(
      ctx.client.POST("/v1/tokens", {
        body: {
          name: args.name!,
          scopes: scopes as Scope[],
          projects,
          ...(envs !== undefined ? { environments: envs } : {}),
          ...(expiresAt !== undefined ? { expires_at: expiresAt } : {}),
        },
      }),
    );
    if (ctx.json) return ctx.printJson(created);
    const where = `${created.projects.join(",")}${created.environments ? ` / ${created.environments.join(",")}` : ""}`;
    ctx.note(`Created token ${created.id} "${created.name}" (${created.scopes.join(",")} on ${where}${created.expires_at ? `, expires ${created.expires_at}` : ""}); the secret below is shown only now`);
    ctx.print(created.token);
  },
};

export const tokenLs: CommandSpec = {
  name: "token ls",
  summary: "List tokens (admin): scopes, projects, environments, expiry; never the secrets",
  args: [],
  options: PAGE_OPTIONS,
  examples: ["pinset token ls", "pinset token ls --all --json | jq -r '.items[] | select(.revoked_at == null) | .id'"],
  async run(ctx, { values }) {
    const page = await fetchPages(values, "token ls", (query) => unwrap(ctx.client.GET("/v1/tokens", { params: { query } })));
    ctx.output(page, (p) => {
      const rows = p.items.map((t) => [t.id, t.name, t.scopes.join(","), t.projects.join(","), t.environments?.join(",") ?? "*", t.expires_at ?? "never", tokenState(t)]);
      return [...table(["ID", "NAME", "SCOPES", "PROJECTS", "ENVS", "EXPIRES", "STATE"], rows), ...moreLine(ctx, p)];
    });
  },
};

export const tokenRevoke: CommandSpec = {
  name: "token revoke",
  summary: "Revoke a token (admin): refused from the next request on",
  args: ["id"],
  examples: ["pinset token revoke tok_0123456789abcdef"],
  async run(ctx, { args }) {
    await unwrap(ctx.client.DELETE("/v1/tokens/{id}", { params: { path: { id: args.id! } } }));
    ctx.output({ id: args.id!, revoked: true }, () => `Revoked token ${args.id}`);
  },
};
