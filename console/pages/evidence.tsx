import { api, ok } from "../api.js";
import { when } from "../format.js";
import { useLoad, useTitle } from "../hooks.js";
import { ui } from "../router.js";
import { sha256Hex } from "../sha256.js";
import { Async, Badge, Crumbs, JsonTree } from "../ui.js";

const encoder = new TextEncoder();
/** Each file is stored as its JSON with two-space indentation and a final newline (see the API). */
const fileBytes = (value: unknown) => encoder.encode(JSON.stringify(value, null, 2) + "\n");

export function EvidencePage({ params }: { params: Record<string, string> }) {
  const project = params.project!;
  const id = params.id!;
  useTitle(`Evidence ${id}`);
  const pack = useLoad(() => ok(api.GET("/v1/projects/{project}/evidence/{id}", { params: { path: { project, id } } })), [project, id]);
  return (
    <>
      <Crumbs items={[["Projects", ui("projects")], [project, ui("projects", project)], [pack.data?.environment ?? "environment", pack.data ? ui("projects", project, "environments", pack.data.environment, "rollout") : ui("projects", project)], `Evidence ${id}`]} />
      <h1>Evidence pack {id}</h1>
      <Async state={pack} what="the evidence pack" project={project}>
        {(p) => {
          const manifestOk = `sha256:${sha256Hex(fileBytes(p.manifest))}` === p.manifest_digest;
          const contents = p.contents as Record<string, unknown>;
          return (
            <>
              <dl class="facts">
                <dt>Rollout</dt>
                <dd>{p.rollout_id}</dd>
                <dt>Why written</dt>
                <dd>{p.trigger}</dd>
                <dt>Written</dt>
                <dd>
                  {when(p.created_at)} by {p.created_by ?? "—"}
                </dd>
                <dt>Location</dt>
                <dd>
                  <code>{p.location}</code>
                </dd>
                <dt>manifest.json</dt>
                <dd data-testid="manifest-check">
                  {manifestOk ? <Badge tone="good">digest checked: matches</Badge> : <Badge tone="bad">digest MISMATCH</Badge>} <code class="digest">{p.manifest_digest}</code>
                </dd>
              </dl>
              <h2>Files</h2>
              {p.manifest.files.map((f) => {
                const present = f.name in contents;
                const matches = present && `sha256:${sha256Hex(fileBytes(contents[f.name]))}` === f.digest;
                return (
                  <details key={f.name} class="evidence-file">
                    <summary>
                      <code>{f.name}</code> {matches ? <Badge tone="good">digest checked: matches</Badge> : <Badge tone="bad">{present ? "digest MISMATCH" : "missing"}</Badge>} <span class="muted small">{f.size} bytes</span>
                    </summary>
                    <p class="small">
                      <code class="digest">{f.digest}</code>
                    </p>
                    {present && (
                      <div class="json-view" tabIndex={0} role="region" aria-label={f.name}>
                        <JsonTree value={contents[f.name]} depth={2} />
                      </div>
                    )}
                  </details>
                );
              })}
            </>
          );
        }}
      </Async>
    </>
  );
}
