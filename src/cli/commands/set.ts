import { unwrap } from "../../client/client.js";
import type { VersionSet } from "../../client/index.js";
import { stringOption, type CommandSpec } from "../command.js";
import type { CommandContext } from "../context.js";
import { UsageError } from "../errors.js";
import { loadSetManifest } from "../manifest.js";
import { shortDigest, table } from "../render/format.js";
import { escapeDeep } from "../render/safe-text.js";

export function renderVersionSet(ctx: CommandContext, set: Pick<VersionSet, "id" | "components" | "code" | "summary" | "created_at" | "description">): string[] {
  const { bold, dim } = ctx.colour;
  const lines = [`${bold(set.id)}  ${dim(`created ${set.created_at}`)}`];
  if (set.description) lines.push(`  description  ${set.description}`);
  if (set.code) lines.push(`  code         ${set.code.repo}@${set.code.commit}`);
  const summary = Object.entries(set.summary ?? {}).map(([k, v]) => `${k}=${v}`);
  if (summary.length > 0) lines.push(`  summary      ${summary.join("  ")}`);
  const rows = Object.entries(set.components)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([slot, c]) => [slot, `${c.kind}/${c.name}`, String(c.version), shortDigest(c.digest)]);
  lines.push("", ...table(["SLOT", "ARTIFACT", "VERSION", "DIGEST"], rows));
  return lines;
}

export const setCreate: CommandSpec = {
  name: "set create",
  summary: "Pin a version set from a manifest file and print its ID",
  args: [],
  options: { file: { type: "string", value: "path", description: "pinset.yaml or .json: project, description, code {repo, commit}, components {slot: kind/name@ref}" } },
  description: [
    "${VAR} in the file is replaced from the environment (${VAR:-default} gives a default; $${ is a",
    "literal ${). An unset variable is an error naming it. The same pinned set always gets the",
    "same ID, so creating it again prints the existing ID.",
  ].join("\n"),
  examples: ["ID=$(pinset set create --file pinset.yaml)", "GIT_COMMIT=$(git rev-parse HEAD) pinset set create --file pinset.yaml --json"],
  async run(ctx, { values }) {
    const file = stringOption(values, "file");
    if (file === undefined) throw new UsageError("missing --file <pinset.yaml>", "set create");
    const manifest = await loadSetManifest(file, ctx.io.env, "set create");
    const given = ctx.options.project;
    if (manifest.project && given && manifest.project !== given) {
      throw new UsageError(`${file} is for project ${manifest.project} but the project given is ${given}`, "set create");
    }
    const project = manifest.project ?? ctx.project;
    const result = await ctx.client.POST("/v1/projects/{project}/version-sets", { params: { path: { project } }, body: manifest.request });
    const set = await unwrap(result);
    if (!ctx.json && ctx.interactive) {
      const summary = Object.entries(escapeDeep(set.summary ?? {})).map(([k, v]) => `${k}=${v}`).join(" ");
      ctx.note(`${result.response.status === 201 ? "Created" : "Existing"} version set in ${project}: ${summary}`);
    }
    ctx.output(set, (s) => s.id);
  },
};

export const setShow: CommandSpec = {
  name: "set show",
  summary: "Show a version set: its pinned components, code and summary",
  args: ["id"],
  examples: ["pinset set show vs_0123456789abcdef01234567"],
  async run(ctx, { args }) {
    const set = await unwrap(ctx.client.GET("/v1/projects/{project}/version-sets/{id}", { params: { path: { project: ctx.project, id: args.id! } } }));
    ctx.output(set, (s) => renderVersionSet(ctx, s));
  },
};
