import type { components } from "../../client/api-types.js";
import type { Colours } from "./colour.js";
import { inline } from "./format.js";

type Diff = components["schemas"]["VersionSetDiff"];
type ComponentDiff = Diff["components"][number];
type Pinned = components["schemas"]["PinnedComponent"];
type FieldChange = { field: string; from?: unknown; to?: unknown };
type SchemaChange = { path: string; breaking: boolean; message: string };

/** Long file lists stop here; `--json` has them all. */
const MAX_LISTED = 50;
const INDENT = "    ";

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

function ref(c: Pinned | null | undefined): string {
  return c ? `${c.kind}/${c.name}@${c.version}` : "∅";
}

/**
 * The human rendering of `GET …/diff`: one section per slot that differs; prompt text as a
 * unified diff, breaking contract and tool changes in red, field changes as `a → b`.
 */
export function renderDiff(diff: Diff, c: Colours): string[] {
  const counts = { added: 0, removed: 0, changed: 0, unchanged: 0 };
  for (const entry of diff.components) counts[entry.change]++;
  const lines = [
    c.bold(`${diff.from} → ${diff.to}`),
    `${counts.changed} changed, ${counts.added} added, ${counts.removed} removed, ${counts.unchanged} unchanged`,
  ];
  for (const entry of diff.components) {
    if (entry.change === "unchanged") continue;
    lines.push("", ...renderComponent(entry, c));
  }
  const unchanged = diff.components.filter((e) => e.change === "unchanged").map((e) => e.slot);
  if (unchanged.length > 0) lines.push("", c.dim(`unchanged: ${unchanged.join(", ")}`));
  return lines;
}

function renderComponent(entry: ComponentDiff, c: Colours): string[] {
  if (entry.change === "added") return [`${c.green("+")} ${c.bold(entry.slot)}  ${ref(entry.to)}  ${c.green("added")}`];
  if (entry.change === "removed") return [`${c.red("-")} ${c.bold(entry.slot)}  ${ref(entry.from)}  ${c.red("removed")}`];
  const detail: unknown = entry.detail;
  const breaking = isRecord(detail) && (detail.breaking === true || records(detail.changed).some((t) => t.breaking === true));
  const title = `${c.yellow("~")} ${c.bold(entry.slot)}  ${ref(entry.from)} → ${ref(entry.to)}${breaking ? `  ${c.red(c.bold("BREAKING"))}` : ""}`;
  return [title, ...renderDetail(entry.to?.kind ?? entry.from?.kind, detail, c).map((line) => (line ? INDENT + line : line))];
}

function renderDetail(kind: string | undefined, detail: unknown, c: Colours): string[] {
  if (!isRecord(detail)) return [];
  if (isRecord(detail.kind_changed)) return [`kind ${inline(detail.kind_changed.from)} → ${inline(detail.kind_changed.to)}: contents not compared`];
  switch (kind) {
    case "prompt":
      return renderPrompt(detail, c);
    case "contract":
      return renderSchemaChanges(records(detail.changes) as SchemaChange[], c);
    case "model":
      return fieldChanges(records(detail.changes) as FieldChange[]);
    case "index":
      return renderIndex(detail, c);
    case "tools":
      return renderTools(detail, c);
    case "config":
      return renderConfig(detail, c);
    default:
      return [JSON.stringify(detail)];
  }
}

function renderPrompt(detail: Record<string, unknown>, c: Colours): string[] {
  const unified = typeof detail.unified === "string" ? detail.unified : "";
  const unchanged = detail.trailing_newlines_differ === true ? "(text unchanged; only trailing newlines differ)" : "(text unchanged)";
  const lines = unified === "" ? [c.dim(unchanged)] : unified.replace(/\n$/, "").split("\n").map((line) => colourDiffLine(line, c));
  const variables = isRecord(detail.variables) ? detail.variables : {};
  const added = strings(variables.added).map((v) => c.green(`+${v}`));
  const removed = strings(variables.removed).map((v) => c.red(`-${v}`));
  if (added.length + removed.length > 0) lines.push(`variables: ${[...added, ...removed].join(" ")}`);
  return lines;
}

function colourDiffLine(line: string, c: Colours): string {
  if (line.startsWith("+++") || line.startsWith("---")) return c.bold(line);
  if (line.startsWith("@@")) return c.cyan(line);
  if (line.startsWith("+")) return c.green(line);
  if (line.startsWith("-")) return c.red(line);
  return line;
}

function renderSchemaChanges(changes: SchemaChange[], c: Colours): string[] {
  if (changes.length === 0) return [c.dim("(no schema changes)")];
  return changes.map((ch) => (ch.breaking ? c.red(`✗ ${ch.path}: ${ch.message} (breaking)`) : `${c.green("✓")} ${ch.path}: ${ch.message}`));
}

function fieldChanges(changes: FieldChange[]): string[] {
  return changes.map((ch) => `${ch.field}: ${inline(ch.from)} → ${inline(ch.to)}`);
}

function listed(paths: string[], mark: string): string[] {
  const shown = paths.slice(0, MAX_LISTED).map((p) => `${mark} ${p}`);
  if (paths.length > MAX_LISTED) shown.push(`  … and ${paths.length - MAX_LISTED} more`);
  return shown;
}

function renderIndex(detail: Record<string, unknown>, c: Colours): string[] {
  const files = isRecord(detail.files) ? detail.files : {};
  const added = strings(files.added);
  const removed = strings(files.removed);
  const changed = strings(files.changed);
  const lines = [`files: ${added.length} added, ${removed.length} removed, ${changed.length} changed`];
  lines.push(...listed(added, c.green("+")), ...listed(removed, c.red("-")), ...listed(changed, c.yellow("~")));
  const metadata = fieldChanges(records(detail.metadata) as FieldChange[]).map((l) => `metadata.${l}`);
  return [...lines, ...metadata];
}

function renderTools(detail: Record<string, unknown>, c: Colours): string[] {
  const lines = [...strings(detail.added).map((n) => c.green(`+ tool ${n}`)), ...strings(detail.removed).map((n) => c.red(`- tool ${n}`))];
  for (const tool of records(detail.changed)) {
    const name = String(tool.name);
    lines.push(tool.breaking === true ? c.red(`~ tool ${name} (breaking)`) : `${c.yellow("~")} tool ${name}`);
    lines.push(...renderSchemaChanges(records(tool.changes) as SchemaChange[], c).map((l) => `  ${l}`));
  }
  return lines;
}

function renderConfig(detail: Record<string, unknown>, c: Colours): string[] {
  return [
    ...strings(detail.added).map((k) => c.green(`+ ${k}`)),
    ...strings(detail.removed).map((k) => c.red(`- ${k}`)),
    ...records(detail.changed).map((ch) => `${String(ch.key)}: ${inline(ch.from)} → ${inline(ch.to)}`),
  ];
}
