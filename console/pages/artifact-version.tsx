import { api, ok, type Schemas } from "../api.js";
import { bytes, when } from "../format.js";
import { useLoad, useTitle } from "../hooks.js";
import { PromptCompare, PromptText } from "../prompt-view.js";
import { ui } from "../router.js";
import { Async, Crumbs, JsonTree, TableWrap } from "../ui.js";
import { diffTokens, type Part } from "../word-diff.js";

type Version = Schemas["ArtifactVersionWithContent"];

const getVersion = (project: string, kind: string, name: string, ref: string) =>
  ok(api.GET("/v1/projects/{project}/artifacts/{kind}/{name}/versions/{ref}", { params: { path: { project, kind: kind as Schemas["Kind"], name, ref } } }));

export function ArtifactVersionPage({ params }: { params: Record<string, string> }) {
  const { project, kind, name, version } = params as Record<"project" | "kind" | "name" | "version", string>;
  useTitle(`${kind}/${name} v${version} · ${project}`);
  const v = useLoad(() => getVersion(project, kind, name, version), [project, kind, name, version]);
  return (
    <>
      <Crumbs items={[["Projects", ui("projects")], [project, ui("projects", project)], ["Artifacts", ui("projects", project, "artifacts")], [kind, ui("projects", project, "artifacts", kind)], [name, ui("projects", project, "artifacts", kind, name)], `v${version}`]} />
      <h1>
        {kind}/{name} v{version}
      </h1>
      <Async state={v} what="the version" project={project}>
        {(data) => (
          <>
            <dl class="facts">
              <dt>Digest</dt>
              <dd>
                <code class="digest">{data.digest}</code>
              </dd>
              <dt>Size</dt>
              <dd>{bytes(data.size)}</dd>
              <dt>Published</dt>
              <dd>{when(data.created_at)}</dd>
              {Object.keys(data.annotations ?? {}).length > 0 && (
                <>
                  <dt>Annotations</dt>
                  <dd>
                    <JsonTree value={data.annotations} />
                  </dd>
                </>
              )}
            </dl>
            <h2>Content</h2>
            <Content version={data} />
          </>
        )}
      </Async>
    </>
  );
}

/** A version's content rendered for its kind. */
function Content({ version }: { version: Version }) {
  const c = version.content as Record<string, unknown>;
  switch (version.kind) {
    case "prompt":
      return (
        <>
          {Array.isArray(c.variables) && <p>Variables: {(c.variables as string[]).map((v) => <code key={v} class="var">{v} </code>)}</p>}
          <PromptText content={version.content as Schemas["PromptContent"]} />
        </>
      );
    case "contract":
      return (
        <div class="json-view" tabIndex={0} role="region" aria-label="Content">
          <JsonTree value={c.schema} name="schema" />
        </div>
      );
    case "tools":
      return (
        <>
          {(c.tools as Schemas["ToolDefinition"][]).map((t) => (
            <section key={t.name} class="tool">
              <h3>{t.name}</h3>
              <p>{t.description}</p>
              {t.permissions && <p>Permissions: {t.permissions.join(", ")}</p>}
              <div class="json-view" tabIndex={0} role="region" aria-label={`${t.name} input schema`}>
                <JsonTree value={t.input_schema} name="input_schema" />
              </div>
            </section>
          ))}
        </>
      );
    case "index": {
      const files = c.files as Schemas["IndexFile"][];
      const total = files.reduce((n, f) => n + f.size, 0);
      return (
        <>
          <p>
            {files.length} files, {bytes(total)} in all
          </p>
          <TableWrap label="Index files">
            <table>
              <thead>
                <tr>
                  <th scope="col">Path</th>
                  <th scope="col">Size</th>
                  <th scope="col">Digest</th>
                </tr>
              </thead>
              <tbody>
                {files.slice(0, 1000).map((f) => (
                  <tr key={f.path}>
                    <td>
                      <code>{f.path}</code>
                    </td>
                    <td>{bytes(f.size)}</td>
                    <td>
                      <code class="digest">{f.digest}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
          {files.length > 1000 && <p>… and {files.length - 1000} more files.</p>}
          {c.metadata !== undefined && (
            <>
              <h3>Metadata</h3>
              <JsonTree value={c.metadata} />
            </>
          )}
        </>
      );
    }
    case "model": {
      const m = c as Schemas["ModelContent"];
      return (
        <>
          <dl class="facts">
            <dt>Provider</dt>
            <dd>{m.provider}</dd>
            <dt>Model</dt>
            <dd>{m.model}</dd>
            <dt>Revision</dt>
            <dd>{m.revision ?? "—"}</dd>
          </dl>
          {m.params && (
            <>
              <h3>Parameters</h3>
              <JsonTree value={m.params} />
            </>
          )}
        </>
      );
    }
    default:
      return (
        <div class="json-view" tabIndex={0} role="region" aria-label="Content">
          <JsonTree value={c} />
        </div>
      );
  }
}

export function ArtifactComparePage({ params, query }: { params: Record<string, string>; query: URLSearchParams }) {
  const { project, kind, name } = params as Record<"project" | "kind" | "name", string>;
  const from = query.get("from") ?? "";
  const to = query.get("to") ?? "";
  useTitle(`${kind}/${name} v${from} → v${to}`);
  const both = useLoad(() => Promise.all([getVersion(project, kind, name, from), getVersion(project, kind, name, to)]), [project, kind, name, from, to]);
  return (
    <>
      <Crumbs items={[["Projects", ui("projects")], [project, ui("projects", project)], ["Artifacts", ui("projects", project, "artifacts")], [name, ui("projects", project, "artifacts", kind, name)], "Compare"]} />
      <h1>
        {kind}/{name}: v{from} → v{to}
      </h1>
      <Async state={both} what="the versions" project={project}>
        {([a, b]) =>
          kind === "prompt" ? (
            <PromptCompare from={a.content as Schemas["PromptContent"]} to={b.content as Schemas["PromptContent"]} />
          ) : (
            <JsonLines from={a.content} to={b.content} />
          )
        }
      </Async>
    </>
  );
}

/** Any other kind: its pretty-printed JSON compared line by line. */
function JsonLines({ from, to }: { from: unknown; to: unknown }) {
  const lines = (v: unknown) => JSON.stringify(v, null, 2).split("\n").map((l) => l + "\n");
  const parts: Part[] = diffTokens(lines(from), lines(to));
  return (
    <pre class="json-diff" tabIndex={0} aria-label="Changes, line by line">
      {parts.map((p, i) =>
        p.op === "same" ? (
          <span key={i}>{p.text}</span>
        ) : p.op === "del" ? (
          <del key={i}>{p.text.replace(/^/gm, "- ").replace(/- $/, "")}</del>
        ) : (
          <ins key={i}>{p.text.replace(/^/gm, "+ ").replace(/\+ $/, "")}</ins>
        ),
      )}
    </pre>
  );
}
