import { useState } from "preact/hooks";
import { allPages, api, ok } from "../api.js";
import { summaryLine, when } from "../format.js";
import { useLoad, useTitle } from "../hooks.js";
import { navigate, ui, withQuery } from "../router.js";
import { Async, Crumbs, TableWrap } from "../ui.js";

const listSets = (project: string) =>
  allPages((cursor) => ok(api.GET("/v1/projects/{project}/version-sets", { params: { path: { project }, query: { limit: 500, ...(cursor ? { cursor } : {}) } } })), 1000);

export function VersionSetsPage({ params }: { params: Record<string, string> }) {
  const project = params.project!;
  useTitle(`Version sets · ${project}`);
  const sets = useLoad(() => listSets(project), [project]);
  return (
    <>
      <Crumbs items={[["Projects", ui("projects")], [project, ui("projects", project)], "Version sets"]} />
      <h1>Version sets of {project}</h1>
      <Async state={sets} what="version sets" project={project}>
        {(items) =>
          items.length === 0 ? (
            <p>No version sets yet.</p>
          ) : (
            <TableWrap label="Version sets">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Set</th>
                    <th scope="col">Summary</th>
                    <th scope="col">Description</th>
                    <th scope="col">Created</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((s) => (
                    <tr key={s.id}>
                      <td>
                        <a href={ui("projects", project, "version-sets", s.id)}>
                          <code>{s.id}</code>
                        </a>
                      </td>
                      <td>{summaryLine(s.summary)}</td>
                      <td>{s.description ?? ""}</td>
                      <td>{when(s.created_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )
        }
      </Async>
    </>
  );
}

export function VersionSetPage({ params }: { params: Record<string, string> }) {
  const project = params.project!;
  const id = params.id!;
  useTitle(`${id} · ${project}`);
  const set = useLoad(() => ok(api.GET("/v1/projects/{project}/version-sets/{id}", { params: { path: { project, id } } })), [project, id]);
  const others = useLoad(() => listSets(project), [project]);
  const [other, setOther] = useState("");
  return (
    <>
      <Crumbs items={[["Projects", ui("projects")], [project, ui("projects", project)], ["Version sets", ui("projects", project, "version-sets")], id]} />
      <h1>
        Version set <code>{id}</code>
      </h1>
      <Async state={set} what="the version set" project={project}>
        {(s) => (
          <>
            <p>{summaryLine(s.summary)}</p>
            <dl class="facts">
              <dt>Created</dt>
              <dd>{when(s.created_at)}</dd>
              <dt>Code</dt>
              <dd>{s.code ? `${s.code.repo} @ ${s.code.commit}` : "—"}</dd>
              <dt>Description</dt>
              <dd>{s.description ?? "—"}</dd>
            </dl>
            <h2>Components</h2>
            <TableWrap label="Components">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Slot</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Artifact</th>
                    <th scope="col">Version</th>
                    <th scope="col">Digest</th>
                  </tr>
                </thead>
                <tbody>
                  {Object.entries(s.components).map(([slot, c]) => (
                    <tr key={slot}>
                      <td>{slot}</td>
                      <td>{c.kind}</td>
                      <td>
                        <a href={ui("projects", project, "artifacts", c.kind, c.name)}>{c.name}</a>
                      </td>
                      <td>
                        <a href={ui("projects", project, "artifacts", c.kind, c.name, "versions", c.version)}>v{c.version}</a>
                      </td>
                      <td>
                        <code class="digest">{c.digest}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          </>
        )}
      </Async>
      <h2>Compare with…</h2>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (other) navigate(withQuery(ui("projects", project, "diff"), { from: other, to: id }));
        }}
      >
        <label for="compare-with">Older set</label>
        <select id="compare-with" value={other} onChange={(e) => setOther((e.target as HTMLSelectElement).value)}>
          <option value="">Choose a set…</option>
          {(others.data ?? [])
            .filter((o) => o.id !== id)
            .map((o) => (
              <option key={o.id} value={o.id}>
                {o.id} — {summaryLine(o.summary)}
              </option>
            ))}
        </select>
        <button type="submit" disabled={!other}>
          Compare
        </button>
      </form>
    </>
  );
}
