import { unwrap } from "../../client/client.js";
import type { components } from "../../client/api-types.js";
import { stringOption, type CommandSpec } from "../command.js";
import { UsageError } from "../errors.js";
import { fetchPages, moreLine, PAGE_OPTIONS } from "../paging.js";
import { shortDigest, table } from "../render/format.js";

type Kind = components["schemas"]["Kind"];
const KINDS: readonly Kind[] = ["prompt", "contract", "model", "index", "tools", "config", "evalset"];
const NAME_PREFIX = /^[a-z0-9][a-z0-9._-]{0,127}$/;

export const lsProjects: CommandSpec = {
  name: "ls projects",
  summary: "List the projects the token may see, newest first",
  args: [],
  options: PAGE_OPTIONS,
  examples: ["pinset ls projects", "pinset ls projects --all --json | jq -r '.items[].name'"],
  async run(ctx, { values }) {
    const page = await fetchPages(values, "ls projects", (query) => unwrap(ctx.client.GET("/v1/projects", { params: { query } })));
    ctx.output(page, (p) => {
      if (p.items.length === 0) return "No projects (or none this token may see)";
      return [...table(["NAME", "CREATED", "DESCRIPTION"], p.items.map((x) => [x.name, x.created_at, x.description ?? ""])), ...moreLine(ctx, p)];
    });
  },
};

export const lsEnvs: CommandSpec = {
  name: "ls envs",
  summary: "List the project's environments: active set, revision, rollout",
  args: [],
  options: PAGE_OPTIONS,
  examples: ["pinset ls envs", "pinset ls envs --json | jq -r '.items[] | \"\\(.name) \\(.active)\"'"],
  async run(ctx, { values }) {
    const project = ctx.project;
    const page = await fetchPages(values, "ls envs", (query) =>
      unwrap(ctx.client.GET("/v1/projects/{project}/environments", { params: { path: { project }, query } })),
    );
    ctx.output(page, (p) => {
      if (p.items.length === 0) return `No environments in ${project} yet: pinset env create <env>`;
      const rows = p.items.map((e) => {
        const flags = [e.protected ? "protected" : "", e.frozen ? "frozen" : ""].filter(Boolean).join(",");
        const rollout = e.rollout ? `${e.rollout.state} ${e.rollout.percent}% → ${e.rollout.candidate}` : "";
        return [e.name, e.active ?? "-", String(e.revision), flags || "-", e.updated_at, rollout];
      });
      return [...table(["NAME", "ACTIVE", "REV", "FLAGS", "UPDATED", "ROLLOUT"], rows), ...moreLine(ctx, p)];
    });
  },
};

export const lsSets: CommandSpec = {
  name: "ls sets",
  summary: "List the project's version sets, newest first",
  args: [],
  options: PAGE_OPTIONS,
  examples: ["pinset ls sets --limit 5", "pinset ls sets --json | jq -r '.items[0].id'"],
  async run(ctx, { values }) {
    const project = ctx.project;
    const page = await fetchPages(values, "ls sets", (query) =>
      unwrap(ctx.client.GET("/v1/projects/{project}/version-sets", { params: { path: { project }, query } })),
    );
    ctx.output(page, (p) => {
      if (p.items.length === 0) return `No version sets in ${project} yet: pinset set create --file pinset.yaml`;
      const rows = p.items.map((s) => [
        s.id,
        s.created_at,
        s.code ? `${s.code.repo}@${s.code.commit}` : "-",
        Object.entries(s.summary ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(" "),
      ]);
      return [...table(["ID", "CREATED", "CODE", "SUMMARY"], rows), ...moreLine(ctx, p)];
    });
  },
};

export const lsArtifacts: CommandSpec = {
  name: "ls artifacts",
  summary: "List the project's artifacts with their latest version, by kind then name",
  args: [],
  options: {
    kind: { type: "string", value: "kind", description: `Only this kind: ${KINDS.join(", ")}` },
    prefix: { type: "string", value: "text", description: "Only names that start with this" },
    ...PAGE_OPTIONS,
  },
  examples: ["pinset ls artifacts", "pinset ls artifacts --kind prompt --prefix support-", "pinset ls artifacts --all --json"],
  async run(ctx, { values }) {
    const kind = stringOption(values, "kind");
    const prefix = stringOption(values, "prefix");
    if (kind !== undefined && !(KINDS as readonly string[]).includes(kind)) throw new UsageError(`unknown kind "${kind}": use one of ${KINDS.join(", ")}`, "ls artifacts");
    if (prefix !== undefined && !NAME_PREFIX.test(prefix)) {
      throw new UsageError(`--prefix "${prefix}" cannot start an artifact name (lowercase letters, digits, . _ -, starting with a letter or digit)`, "ls artifacts");
    }
    const project = ctx.project;
    const filters = { ...(kind !== undefined ? { kind: kind as Kind } : {}), ...(prefix !== undefined ? { prefix } : {}) };
    const page = await fetchPages(values, "ls artifacts", (query) =>
      unwrap(ctx.client.GET("/v1/projects/{project}/artifacts", { params: { path: { project }, query: { ...filters, ...query } } })),
    );
    ctx.output(page, (p) => {
      if (p.items.length === 0) return kind || prefix ? "No artifacts match" : `No artifacts in ${project} yet: pinset publish <kind> <name> --file <path>`;
      const rows = p.items.map((a) => [a.kind, a.name, String(a.version), shortDigest(a.digest), a.created_at]);
      return [...table(["KIND", "NAME", "LATEST", "DIGEST", "PUBLISHED"], rows), ...moreLine(ctx, p)];
    });
  },
};
