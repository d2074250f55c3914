import { allPages, api, ok, type Schemas } from "../api.js";
import { shortId, when } from "../format.js";
import { useLoad, useTitle } from "../hooks.js";
import { ui, withQuery } from "../router.js";
import { Async, Badge, Crumbs, TableWrap } from "../ui.js";
import { AuditTable } from "./audit.js";

export function RolloutProgress({ rollout }: { rollout: Schemas["Rollout"] | null }) {
  if (!rollout) return <span class="muted">no rollout</span>;
  const ended = rollout.state === "promoted" || rollout.state === "aborted";
  return (
    <span class="progress">
      <Badge tone={rollout.state === "running" ? "info" : rollout.state === "aborted" ? "bad" : rollout.state === "promoted" ? "good" : "warn"}>{rollout.state}</Badge>{" "}
      {!ended && (
        <>
          <progress max={100} value={rollout.percent} aria-label={`Candidate share ${rollout.percent}%`} /> {rollout.percent}%
        </>
      )}
    </span>
  );
}

export function ProjectPage({ params }: { params: Record<string, string> }) {
  const project = params.project!;
  useTitle(project);
  const envs = useLoad(() => allPages((cursor) => ok(api.GET("/v1/projects/{project}/environments", { params: { path: { project }, query: { limit: 500, ...(cursor ? { cursor } : {}) } } }))), [project]);
  const audit = useLoad(() => ok(api.GET("/v1/projects/{project}/audit", { params: { path: { project }, query: { limit: 10 } } })), [project]);
  return (
    <>
      <Crumbs items={[["Projects", ui("projects")], project]} />
      <h1>{project}</h1>
      <h2>Environments</h2>
      <Async state={envs} what="environments" project={project}>
        {(items) =>
          items.length === 0 ? (
            <p>No environments yet.</p>
          ) : (
            <TableWrap label="Environments">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Environment</th>
                    <th scope="col">Active set</th>
                    <th scope="col">Revision</th>
                    <th scope="col">State</th>
                    <th scope="col">Rollout</th>
                    <th scope="col">Updated</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((e) => (
                    <tr key={e.name}>
                      <td>
                        <a href={ui("projects", project, "environments", e.name)}>{e.name}</a>
                        {e.protected && <> <Badge tone="plain">protected</Badge></>}
                      </td>
                      <td>{e.active ? <a href={ui("projects", project, "version-sets", e.active)}><code>{shortId(e.active)}</code></a> : <span class="muted">nothing deployed</span>}</td>
                      <td>{e.revision}</td>
                      <td>{e.frozen ? <Badge tone="bad">frozen</Badge> : <Badge tone="good">open</Badge>}</td>
                      <td>
                        {e.rollout ? <a href={ui("projects", project, "environments", e.name, "rollout")}><RolloutProgress rollout={e.rollout} /></a> : <span class="muted">none</span>}
                      </td>
                      <td>{when(e.updated_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )
        }
      </Async>
      <h2>Recent activity</h2>
      <Async state={audit} what="recent activity" project={project}>
        {(page) => <AuditTable project={project} items={page.items} />}
      </Async>
      <p>
        <a href={withQuery(ui("projects", project, "audit"), {})}>All activity</a>
      </p>
    </>
  );
}
