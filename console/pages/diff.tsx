import { api, ok, type Schemas } from "../api.js";
import { value } from "../format.js";
import { useLoad, useTitle } from "../hooks.js";
import { PromptCompare } from "../prompt-view.js";
import { ui } from "../router.js";
import { Async, Badge, Crumbs, TableWrap } from "../ui.js";

type ComponentDiff = Schemas["ComponentDiff"];
type Pinned = Schemas["PinnedComponent"];

function isBreaking(c: ComponentDiff): boolean {
  if (c.change === "removed") return true;
  if (c.change !== "changed" || !c.detail) return false;
  const kind = c.to?.kind ?? c.from?.kind;
  if (kind === "contract") return (c.detail as Schemas["ContractDiffDetail"]).breaking;
  if (kind === "tools") {
    const d = c.detail as Schemas["ToolsDiffDetail"];
    return d.removed.length > 0 || d.changed.some((t) => t.breaking);
  }
  return false;
}

export function DiffPage({ params, query }: { params: Record<string, string>; query: URLSearchParams }) {
  const project = params.project!;
  const from = query.get("from") ?? "";
  const to = query.get("to") ?? "";
  useTitle(`Diff · ${project}`);
  const diff = useLoad(() => ok(api.GET("/v1/projects/{project}/diff", { params: { path: { project }, query: { from, to } } })), [project, from, to]);
  return (
    <>
      <Crumbs items={[["Projects", ui("projects")], [project, ui("projects", project)], ["Version sets", ui("projects", project, "version-sets")], "Diff"]} />
      <h1>Diff</h1>
      <p>
        From <a href={ui("projects", project, "version-sets", from)}><code>{from}</code></a> to <a href={ui("projects", project, "version-sets", to)}><code>{to}</code></a>
      </p>
      <Async state={diff} what="the diff" project={project}>
        {(d) => {
          const changed = d.components.filter((c) => c.change !== "unchanged");
          const breaking = changed.filter(isBreaking);
          return (
            <div data-testid="diff-ready">
              <p class="summary-bar" data-testid="diff-summary">
                <strong>{changed.length}</strong> changed · <strong>{breaking.length}</strong> breaking · {d.components.length - changed.length} unchanged
              </p>
              {changed.map((c) => (
                <ComponentSection key={c.slot} project={project} c={c} breaking={isBreaking(c)} />
              ))}
              {d.components.length > changed.length && (
                <details>
                  <summary>Unchanged slots</summary>
                  <ul>
                    {d.components
                      .filter((c) => c.change === "unchanged")
                      .map((c) => (
                        <li key={c.slot}>
                          {c.slot}: {c.to?.kind}/{c.to?.name} v{c.to?.version}
                        </li>
                      ))}
                  </ul>
                </details>
              )}
            </div>
          );
        }}
      </Async>
    </>
  );
}

const ref = (p: Pinned | null) => (p ? `${p.kind}/${p.name} v${p.version}` : "—");

function ComponentSection({ project, c, breaking }: { project: string; c: ComponentDiff; breaking: boolean }) {
  const kind = c.to?.kind ?? c.from?.kind;
  return (
    <section class="slot" aria-labelledby={`slot-${c.slot}`}>
      <h2 id={`slot-${c.slot}`}>
        {c.slot} <Badge tone="plain">{c.change}</Badge> {breaking ? <Badge tone="bad">breaking</Badge> : <Badge tone="good">compatible</Badge>}
      </h2>
      <p class="muted">
        {ref(c.from)} → {ref(c.to)}
      </p>
      {c.change === "changed" && c.detail && kind === "prompt" && <PromptDetail project={project} c={c} detail={c.detail as Schemas["PromptDiffDetail"]} />}
      {c.change === "changed" && c.detail && kind === "contract" && <ContractChanges changes={(c.detail as Schemas["ContractDiffDetail"]).changes} />}
      {c.change === "changed" && c.detail && kind === "model" && <FieldTable label="Model parameters" changes={(c.detail as Schemas["ModelDiffDetail"]).changes} />}
      {c.change === "changed" && c.detail && kind === "index" && <IndexDetail detail={c.detail as Schemas["IndexDiffDetail"]} />}
      {c.change === "changed" && c.detail && kind === "tools" && <ToolsDetail detail={c.detail as Schemas["ToolsDiffDetail"]} />}
      {c.change === "changed" && c.detail && kind === "config" && <ConfigDetail detail={c.detail as Schemas["ConfigDiffDetail"]} />}
    </section>
  );
}

const loadPrompt = (project: string, p: Pinned | null) =>
  p ? ok(api.GET("/v1/projects/{project}/artifacts/{kind}/{name}/versions/{ref}", { params: { path: { project, kind: "prompt", name: p.name, ref: String(p.version) } } })).then((v) => v.content as Schemas["PromptContent"]) : Promise.resolve(undefined);

function PromptDetail({ project, c, detail }: { project: string; c: ComponentDiff; detail: Schemas["PromptDiffDetail"] }) {
  const contents = useLoad(() => Promise.all([loadPrompt(project, c.from), loadPrompt(project, c.to)]), [project, c.from?.digest, c.to?.digest]);
  return (
    <>
      {detail.variables && (detail.variables.added.length > 0 || detail.variables.removed.length > 0) && (
        <p>
          Variables: {detail.variables.added.map((v) => <ins key={v}>+{v} </ins>)}
          {detail.variables.removed.map((v) => <del key={v}>−{v} </del>)}
        </p>
      )}
      {detail.trailing_newlines_differ && <p>Only trailing line breaks differ.</p>}
      <Async state={contents} what="the prompts" project={project}>
        {([a, b]) => <PromptCompare from={a} to={b} />}
      </Async>
    </>
  );
}

export function ContractChanges({ changes }: { changes: Schemas["ContractChange"][] }) {
  if (changes.length === 0) return <p>No schema changes.</p>;
  return (
    <ul class="changes">
      {changes.map((ch, i) => (
        <li key={i}>
          {ch.breaking ? <Badge tone="bad">breaking</Badge> : <Badge tone="good">compatible</Badge>} <code>{ch.path}</code> — {ch.message}
        </li>
      ))}
    </ul>
  );
}

function FieldTable({ label, changes }: { label: string; changes: Schemas["FieldChange"][] }) {
  if (changes.length === 0) return <p>No field changes.</p>;
  return (
    <TableWrap label={label}>
      <table>
        <caption>{label}</caption>
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">From</th>
            <th scope="col">To</th>
          </tr>
        </thead>
        <tbody>
          {changes.map((f) => (
            <tr key={f.field}>
              <td>
                <code>{f.field}</code>
              </td>
              <td>
                <code>{value(f.from)}</code>
              </td>
              <td>
                <code>{value(f.to)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

function NameList({ title, names }: { title: string; names: string[] }) {
  return (
    <div>
      <h3>
        {title} ({names.length})
      </h3>
      {names.length > 0 && (
        <ul class="names" tabIndex={0} aria-label={title}>
          {names.slice(0, 200).map((n) => (
            <li key={n}>
              <code>{n}</code>
            </li>
          ))}
          {names.length > 200 && <li>… and {names.length - 200} more</li>}
        </ul>
      )}
    </div>
  );
}

function IndexDetail({ detail }: { detail: Schemas["IndexDiffDetail"] }) {
  return (
    <>
      <p>
        Files: {detail.files.added.length} added · {detail.files.removed.length} removed · {detail.files.changed.length} changed
      </p>
      <div class="cols">
        <NameList title="Added files" names={detail.files.added} />
        <NameList title="Removed files" names={detail.files.removed} />
        <NameList title="Changed files" names={detail.files.changed} />
      </div>
      {detail.metadata.length > 0 && <FieldTable label="Metadata changes" changes={detail.metadata} />}
    </>
  );
}

function ToolsDetail({ detail }: { detail: Schemas["ToolsDiffDetail"] }) {
  return (
    <>
      <p>
        Tools: {detail.added.length} added · {detail.removed.length} removed{detail.removed.length > 0 ? " (breaking)" : ""} · {detail.changed.length} changed
      </p>
      <div class="cols">
        <NameList title="Added tools" names={detail.added} />
        <NameList title="Removed tools" names={detail.removed} />
      </div>
      {detail.changed.map((t) => (
        <div key={t.name}>
          <h3>
            {t.name} {t.breaking ? <Badge tone="bad">breaking</Badge> : <Badge tone="good">compatible</Badge>}
          </h3>
          <ContractChanges changes={t.changes} />
        </div>
      ))}
    </>
  );
}

function ConfigDetail({ detail }: { detail: Schemas["ConfigDiffDetail"] }) {
  return (
    <>
      <div class="cols">
        <NameList title="Added keys" names={detail.added} />
        <NameList title="Removed keys" names={detail.removed} />
      </div>
      {detail.changed.length > 0 && <FieldTable label="Changed keys" changes={detail.changed.map((c) => ({ field: c.key, from: c.from, to: c.to }))} />}
    </>
  );
}
