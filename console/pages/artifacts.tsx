import { useState } from "preact/hooks";
import { allPages, api, ok, type Schemas } from "../api.js";
import { bytes, when } from "../format.js";
import { useLoad, useTitle } from "../hooks.js";
import { navigate, ui, withQuery } from "../router.js";
import { Async, Crumbs, TableWrap } from "../ui.js";

export const KINDS = ["prompt", "contract", "model", "index", "tools", "config"] as const;
type Kind = (typeof KINDS)[number];

/** Kinds → names → versions: one page, three depths (`/artifacts`, `/artifacts/:kind`, `/artifacts/:kind/:name`). */
export function ArtifactsPage({ params }: { params: Record<string, string> }) {
  const project = params.project!;
  const kind = params.kind as Kind | undefined;
  const name = params.name;
  if (kind && name) return <Versions project={project} kind={kind} name={name} />;
  return <Names project={project} kind={kind} />;
}

function Names({ project, kind }: { project: string; kind: Kind | undefined }) {
  useTitle(kind ? `${kind} artifacts · ${project}` : `Artifacts · ${project}`);
  const list = useLoad(
    () => allPages((cursor) => ok(api.GET("/v1/projects/{project}/artifacts", { params: { path: { project }, query: { limit: 500, ...(kind ? { kind } : {}), ...(cursor ? { cursor } : {}) } } })), 5000),
    [project, kind],
  );
  return (
    <>
      <Crumbs items={[["Projects", ui("projects")], [project, ui("projects", project)], ...(kind ? [["Artifacts", ui("projects", project, "artifacts")] as [string, string], kind] : ["Artifacts"])]} />
      <h1>{kind ? `${kind} artifacts` : "Artifacts"}</h1>
      <nav aria-label="Artifact kinds" class="kinds">
        <ul>
          {KINDS.map((k) => (
            <li key={k}>
              <a href={ui("projects", project, "artifacts", k)} aria-current={k === kind ? "page" : undefined}>
                {k}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <Async state={list} what="artifacts" project={project}>
        {(items) => {
          if (items.length === 0) return <p>No artifacts{kind ? ` of kind ${kind}` : ""} yet.</p>;
          return (
            <TableWrap label="Artifacts">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Kind</th>
                    <th scope="col">Name</th>
                    <th scope="col">Latest</th>
                    <th scope="col">Size</th>
                    <th scope="col">Published</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((a) => (
                    <tr key={`${a.kind}/${a.name}`}>
                      <td>{a.kind}</td>
                      <td>
                        <a href={ui("projects", project, "artifacts", a.kind, a.name)}>{a.name}</a>
                      </td>
                      <td>
                        <a href={ui("projects", project, "artifacts", a.kind, a.name, "versions", a.version)}>v{a.version}</a>
                      </td>
                      <td>{bytes(a.size)}</td>
                      <td>{when(a.created_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          );
        }}
      </Async>
    </>
  );
}

function Versions({ project, kind, name }: { project: string; kind: Kind; name: string }) {
  useTitle(`${kind}/${name} · ${project}`);
  const versions = useLoad(
    () => allPages((cursor) => ok(api.GET("/v1/projects/{project}/artifacts/{kind}/{name}", { params: { path: { project, kind, name }, query: { limit: 500, ...(cursor ? { cursor } : {}) } } })), 2000),
    [project, kind, name],
  );
  return (
    <>
      <Crumbs items={[["Projects", ui("projects")], [project, ui("projects", project)], ["Artifacts", ui("projects", project, "artifacts")], [kind, ui("projects", project, "artifacts", kind)], name]} />
      <h1>
        {kind}/{name}
      </h1>
      <Async state={versions} what="versions" project={project}>
        {(items) => (
          <>
            <CompareForm project={project} kind={kind} name={name} versions={items} />
            <TableWrap label="Versions">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Version</th>
                    <th scope="col">Digest</th>
                    <th scope="col">Size</th>
                    <th scope="col">Published</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((v) => (
                    <tr key={v.version}>
                      <td>
                        <a href={ui("projects", project, "artifacts", kind, name, "versions", v.version)}>v{v.version}</a>
                      </td>
                      <td>
                        <code class="digest">{v.digest}</code>
                      </td>
                      <td>{bytes(v.size)}</td>
                      <td>{when(v.created_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          </>
        )}
      </Async>
    </>
  );
}

export function CompareForm({ project, kind, name, versions }: { project: string; kind: string; name: string; versions: Schemas["ArtifactVersion"][] }) {
  const [from, setFrom] = useState(String(versions[1]?.version ?? versions[0]?.version ?? ""));
  const [to, setTo] = useState(String(versions[0]?.version ?? ""));
  if (versions.length < 2) return null;
  const select = (id: string, label: string, v: string, set: (v: string) => void) => (
    <>
      <label for={id}>{label}</label>
      <select id={id} value={v} onChange={(e) => set((e.target as HTMLSelectElement).value)}>
        {versions.map((x) => (
          <option key={x.version} value={String(x.version)}>
            v{x.version}
          </option>
        ))}
      </select>
    </>
  );
  return (
    <form
      class="row"
      aria-label="Compare two versions"
      onSubmit={(e) => {
        e.preventDefault();
        navigate(withQuery(ui("projects", project, "artifacts", kind, name, "compare"), { from, to }));
      }}
    >
      {select("cmp-from", "Compare", from, setFrom)}
      {select("cmp-to", "with", to, setTo)}
      <button type="submit" disabled={from === to}>
        Compare versions
      </button>
    </form>
  );
}
