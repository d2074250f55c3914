import { useState } from "preact/hooks";
import { api, ok, type Schemas } from "../api.js";
import { when } from "../format.js";
import { useLoad, useTitle } from "../hooks.js";
import { navigate, ui, withQuery } from "../router.js";
import { Async, Crumbs, TableWrap } from "../ui.js";

const FILTERS = ["action", "actor", "target", "trace_id", "since", "until"] as const;
type Filter = (typeof FILTERS)[number];

/** `datetime-local` (the browser's time zone) ⇄ RFC 3339. */
const toLocalInput = (iso: string | undefined) => {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
};
export const fromLocalInput = (local: string) => (local ? new Date(local).toISOString() : undefined);

function targetLink(project: string, entry: Schemas["AuditEntry"]) {
  const [kind, rest] = [entry.target.split("/")[0], entry.target.slice(entry.target.indexOf("/") + 1)];
  if (kind === "environment") return ui("projects", project, "environments", rest.split("/")[0]!);
  if (kind === "version_set") return ui("projects", project, "version-sets", rest);
  if (kind === "evidence") return ui("projects", project, "evidence", rest);
  const m = /^(prompt|contract|model|index|tools|config)\/([^@]+)@(\d+)$/.exec(entry.target);
  if (m) return ui("projects", project, "artifacts", m[1]!, m[2]!, "versions", m[3]!);
  return undefined;
}

export function AuditTable({ project, items }: { project: string; items: Schemas["AuditEntry"][] }) {
  if (items.length === 0) return <p>No entries.</p>;
  return (
    <TableWrap label="Audit entries">
      <table class="audit">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">Who</th>
            <th scope="col">Trace id</th>
          </tr>
        </thead>
        <tbody>
          {items.map((e, i) => {
            const link = targetLink(project, e);
            return (
              <tr key={`${e.at}-${i}`}>
                <td>{when(e.at)}</td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td>{link ? <a href={link}>{e.target}</a> : e.target}</td>
                <td>{e.actor}</td>
                <td>{e.trace_id ? <a href={withQuery(ui("projects", project, "audit"), { trace_id: e.trace_id })} aria-label={`Audit rows of trace ${e.trace_id}`}><code>{e.trace_id}</code></a> : "—"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </TableWrap>
  );
}

export function AuditPage({ params, query }: { params: Record<string, string>; query: URLSearchParams }) {
  const project = params.project!;
  useTitle(`Audit · ${project}`);
  const applied: Partial<Record<Filter, string>> = {};
  for (const f of FILTERS) {
    const v = query.get(f);
    if (v) applied[f] = v;
  }
  const cursor = query.get("cursor") ?? undefined;
  const key = query.toString();
  const page = useLoad(() => ok(api.GET("/v1/projects/{project}/audit", { params: { path: { project }, query: { limit: 50, ...applied, ...(cursor ? { cursor } : {}) } } })), [project, key]);
  const [draft, setDraft] = useState<Partial<Record<Filter, string>>>({ ...applied, since: toLocalInput(applied.since), until: toLocalInput(applied.until) });
  const field = (f: Filter, label: string, type = "text") => (
    <div class="field">
      <label for={`f-${f}`}>{label}</label>
      <input id={`f-${f}`} type={type} step={type === "datetime-local" ? 1 : undefined} value={draft[f] ?? ""} onInput={(e) => setDraft({ ...draft, [f]: (e.target as HTMLInputElement).value })} />
    </div>
  );
  const apply = (e: Event) => {
    e.preventDefault();
    navigate(withQuery(ui("projects", project, "audit"), { ...draft, since: fromLocalInput(draft.since ?? ""), until: fromLocalInput(draft.until ?? "") }));
  };
  return (
    <>
      <Crumbs items={[["Projects", ui("projects")], [project, ui("projects", project)], "Audit"]} />
      <h1>Audit of {project}</h1>
      <form class="filters" onSubmit={apply} aria-label="Filter audit entries">
        {field("action", "Action (e.g. environment.deploy)")}
        {field("actor", "Who (token name)")}
        {field("target", "Target (e.g. environment/prod, or a prefix ending in *)")}
        {field("trace_id", "Trace id")}
        {field("since", "From (your local time)", "datetime-local")}
        {field("until", "Until (your local time)", "datetime-local")}
        <div class="row">
          <button type="submit">Filter</button>
          <a href={ui("projects", project, "audit")}>Clear filters</a>
        </div>
      </form>
      <Async state={page} what="audit entries" project={project}>
        {(p) => (
          <>
            <AuditTable project={project} items={p.items} />
            {p.next_cursor && (
              <p>
                <a href={withQuery(ui("projects", project, "audit"), { ...applied, cursor: p.next_cursor })}>Older entries</a>
              </p>
            )}
          </>
        )}
      </Async>
    </>
  );
}
