import { useEffect, useState } from "preact/hooks";
import { allPages, api, ApiError, ok, type Schemas } from "../api.js";
import { shortId, summaryLine, when } from "../format.js";
import { useLoad, useTitle } from "../hooks.js";
import { ui, withQuery } from "../router.js";
import { adminRefusal, deployRefusal, useSelf } from "../self.js";
import { ActionButton, Async, Badge, Crumbs, ProblemView, TableWrap } from "../ui.js";
import { useWatch } from "../watch.js";
import { fromLocalInput } from "./audit.js";
import { RolloutProgress } from "./project.js";

type Environment = Schemas["Environment"];

export function EnvironmentPage({ params }: { params: Record<string, string> }) {
  const project = params.project!;
  const name = params.env!;
  useTitle(`${name} · ${project}`);
  const path = { project, env: name };
  const loaded = useLoad(() => ok(api.GET("/v1/projects/{project}/environments/{env}", { params: { path } })), [project, name]);
  const [env, setEnv] = useState<Environment | undefined>();
  useEffect(() => setEnv((cur) => (!cur || (loaded.data && loaded.data.revision >= cur.revision) ? loaded.data : cur)), [loaded.data]);
  const history = useLoad(() => ok(api.GET("/v1/projects/{project}/environments/{env}/history", { params: { path, query: { limit: 100 } } })), [project, name]);
  const [announce, setAnnounce] = useState("");
  const status = useWatch(project, name, (next) => {
    setEnv((cur) => {
      if (cur && next.revision > cur.revision) {
        setAnnounce(`Revision ${next.revision}: ${next.active ?? "nothing"} is now active.`);
        history.reload();
      }
      return cur && next.revision < cur.revision ? cur : next;
    });
  });

  return (
    <>
      <Crumbs items={[["Projects", ui("projects")], [project, ui("projects", project)], name]} />
      <h1>
        Environment {name}{" "}
        <Badge tone={status === "live" ? "good" : "warn"}>{status === "live" ? "live updates on" : status === "connecting" ? "connecting…" : "reconnecting…"}</Badge>
      </h1>
      <p class="sr-only" role="status" aria-live="polite">
        {announce}
      </p>
      {loaded.error && <ProblemView error={loaded.error} project={project} />}
      {env && <Current project={project} env={env} onChanged={() => (loaded.reload(), history.reload())} />}
      <LiveAt project={project} env={name} />
      <h2>History</h2>
      <Async state={history} what="history" project={project}>
        {(page) => <HistoryTable project={project} items={page.items} />}
      </Async>
    </>
  );
}

function Current({ project, env, onChanged }: { project: string; env: Environment; onChanged: () => void }) {
  const self = useSelf();
  const path = { project, env: env.name };
  const refusal = deployRefusal(self, env);
  const sets = useLoad(() => allPages((cursor) => ok(api.GET("/v1/projects/{project}/version-sets", { params: { path: { project }, query: { limit: 500, ...(cursor ? { cursor } : {}) } } })), 500), [project]);
  const [target, setTarget] = useState("");
  return (
    <section aria-labelledby="now">
      <h2 id="now">Now</h2>
      <dl class="facts">
        <dt>Active set</dt>
        <dd data-testid="active-set">{env.active ? <a href={ui("projects", project, "version-sets", env.active)}><code>{env.active}</code></a> : "nothing deployed"}</dd>
        <dt>Revision</dt>
        <dd data-testid="revision">{env.revision}</dd>
        <dt>Frozen</dt>
        <dd>{env.frozen ? <Badge tone="bad">frozen: deploys refused until unfrozen</Badge> : <Badge tone="good">not frozen</Badge>}</dd>
        <dt>Protected</dt>
        <dd>{env.protected ? "yes" : "no"}</dd>
        <dt>Rollout</dt>
        <dd>
          {env.rollout ? (
            <a href={ui("projects", project, "environments", env.name, "rollout")}>
              <RolloutProgress rollout={env.rollout} />
            </a>
          ) : (
            "none"
          )}
        </dd>
        <dt>Updated</dt>
        <dd>{when(env.updated_at)}</dd>
      </dl>
      <div class="actions">
        <ActionButton
          label="Rollback"
          danger
          refusal={refusal ?? (env.active ? undefined : "Nothing is deployed")}
          onConfirm={async (reason) => {
            await ok(api.POST("/v1/projects/{project}/environments/{env}/rollback", { params: { path }, body: { expected_revision: env.revision, ...(reason ? { reason } : {}) } }));
            onChanged();
          }}
        >
          <p>
            Switch <strong>{env.name}</strong> back to the set active before <code>{shortId(env.active)}</code> (revision {env.revision}).
          </p>
        </ActionButton>
        <ActionButton
          label="Deploy…"
          confirmLabel="Deploy"
          refusal={refusal}
          onConfirm={async (reason) => {
            if (!target) throw new Error("Choose a version set to deploy");
            await ok(api.POST("/v1/projects/{project}/environments/{env}/deploy", { params: { path }, body: { version_set: target, expected_revision: env.revision, ...(reason ? { reason } : {}) } }));
            onChanged();
          }}
        >
          <label for="deploy-set">Version set</label>
          <select id="deploy-set" value={target} onChange={(e) => setTarget((e.target as HTMLSelectElement).value)}>
            <option value="">Choose a set…</option>
            {(sets.data ?? []).map((s) => (
              <option key={s.id} value={s.id}>
                {s.id} — {summaryLine(s.summary)}
              </option>
            ))}
          </select>
        </ActionButton>
        {env.frozen && (
          <ActionButton
            label="Unfreeze"
            refusal={adminRefusal(self)}
            onConfirm={async (reason) => {
              await ok(api.POST("/v1/projects/{project}/environments/{env}/unfreeze", { params: { path }, body: reason ? { reason } : {} }));
              onChanged();
            }}
          />
        )}
      </div>
    </section>
  );
}

function LiveAt({ project, env }: { project: string; env: string }) {
  const [at, setAt] = useState("");
  const [result, setResult] = useState<{ at: string; bundle?: Schemas["Bundle"]; error?: Error } | undefined>();
  const look = async (e: Event) => {
    e.preventDefault();
    const iso = fromLocalInput(at);
    if (!iso) return;
    try {
      const bundle = await ok(api.GET("/v1/projects/{project}/environments/{env}/resolve", { params: { path: { project, env }, query: { at: iso } } }));
      setResult({ at: iso, bundle });
    } catch (error) {
      setResult({ at: iso, error: error as Error });
    }
  };
  return (
    <section aria-labelledby="live-at">
      <h2 id="live-at">What was live at…</h2>
      <form class="row" onSubmit={look}>
        <label for="at">Date and time (your local time)</label>
        <input id="at" type="datetime-local" step={1} value={at} onInput={(e) => setAt((e.target as HTMLInputElement).value)} required />
        <button type="submit">Show</button>
      </form>
      {result?.bundle && (
        <p data-testid="live-at-result">
          At {when(result.at)}: <a href={ui("projects", project, "version-sets", result.bundle.id)}><code>{result.bundle.id}</code></a> — {summaryLine(result.bundle.summary)}
        </p>
      )}
      {result?.error &&
        (result.error instanceof ApiError && result.error.status === 404 ? (
          <p data-testid="live-at-result">Nothing was active at {when(result.at)}.</p>
        ) : (
          <ProblemView error={result.error} project={project} />
        ))}
    </section>
  );
}

function HistoryTable({ project, items }: { project: string; items: Schemas["HistoryEntry"][] }) {
  if (items.length === 0) return <p>No changes yet.</p>;
  return (
    <TableWrap label="History">
      <table data-testid="history">
        <thead>
          <tr>
            <th scope="col">Revision</th>
            <th scope="col">Action</th>
            <th scope="col">Set</th>
            <th scope="col">Who</th>
            <th scope="col">Why</th>
            <th scope="col">Trace id</th>
            <th scope="col">Time</th>
          </tr>
        </thead>
        <tbody>
          {items.map((h) => (
            <tr key={h.revision}>
              <td>{h.revision}</td>
              <td>
                <code>{h.action}</code>
              </td>
              <td>{h.version_set ? <a href={ui("projects", project, "version-sets", h.version_set)}><code>{shortId(h.version_set)}</code></a> : "—"}</td>
              <td>{h.actor}</td>
              <td>{h.reason ?? <span class="muted">no reason given</span>}</td>
              <td>{h.trace_id ? <a href={withQuery(ui("projects", project, "audit"), { trace_id: h.trace_id })}><code>{h.trace_id}</code></a> : "—"}</td>
              <td>{when(h.at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}
