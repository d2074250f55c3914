import { useState } from "preact/hooks";
import { api, ApiError, ok, type Schemas } from "../api.js";
import { shortId, shortWhen, when } from "../format.js";
import { useLoad, useTitle } from "../hooks.js";
import { ui } from "../router.js";
import { deployRefusal, useSelf } from "../self.js";
import { ActionButton, Async, Badge, Crumbs, ProblemView, TableWrap } from "../ui.js";

type Rollout = Schemas["Rollout"] & {
  // Added by the rollout-steps work when the server has it; shown when present.
  step?: number;
  step_started_at?: string;
  bake_remaining_seconds?: number;
  next_action?: string;
};
type Reason = Schemas["DecisionReason"] & {
  method?: string;
  interval?: { low: number | null; high: number | null } | null;
  confidence?: number | null;
  samples?: { baseline: number; candidate: number } | null;
  summary?: string;
};

/** The four lines of a rollout's gate, metric by metric. */
const LINES: Array<[string, string[]]> = [
  ["Quality", ["quality.success_rate", "quality.adoption_rate"]],
  ["Latency", ["latency.p95_ms", "latency.timeout_rate"]],
  ["Cost", ["cost.tokens_per_request"]],
  ["Risk", ["risk.injection_success", "risk.unauthorized_tool_calls", "risk.pii_leaks"]],
];

const VERDICT_TONE: Record<string, "good" | "warn" | "bad" | "plain"> = { pass: "good", hold: "warn", no_data: "plain", inconclusive: "warn", pause: "warn", rollback: "bad", stop: "bad" };
const SIGNAL_TONE: Record<string, "good" | "warn" | "bad"> = { green: "good", yellow: "warn", red: "bad", black: "bad" };

const num = (v: number | null | undefined) => (v === null || v === undefined ? "—" : Number.isInteger(v) ? String(v) : v.toPrecision(4).replace(/\.?0+$/, ""));

export function RolloutPage({ params }: { params: Record<string, string> }) {
  const project = params.project!;
  const env = params.env!;
  useTitle(`Rollout · ${env} · ${project}`);
  const path = { project, env };
  const rollout = useLoad(() => ok(api.GET("/v1/projects/{project}/environments/{env}/rollout", { params: { path } })) as Promise<Rollout>, [project, env]);
  const decision = useLoad(() => ok(api.GET("/v1/projects/{project}/environments/{env}/rollout/decision", { params: { path } })), [project, env]);
  const observations = useLoad(() => ok(api.GET("/v1/projects/{project}/environments/{env}/observations", { params: { path, query: { limit: 500 } } })), [project, env]);
  const environment = useLoad(() => ok(api.GET("/v1/projects/{project}/environments/{env}", { params: { path } })), [project, env]);
  const reload = () => (rollout.reload(), decision.reload(), observations.reload(), environment.reload());
  return (
    <>
      <Crumbs items={[["Projects", ui("projects")], [project, ui("projects", project)], [env, ui("projects", project, "environments", env)], "Rollout"]} />
      <h1>Rollout in {env}</h1>
      {rollout.error instanceof ApiError && rollout.error.status === 404 ? (
        <p>No rollout has run in {env} yet.</p>
      ) : (
        <Async state={rollout} what="the rollout" project={project}>
          {(r) => (
            <>
              <Overview project={project} r={r} />
              {environment.data && <Controls project={project} env={environment.data} r={r} decision={decision.data} onDone={reload} />}
              <h2>Decision</h2>
              <Async state={decision} what="the decision" project={project}>
                {(d) => <DecisionView d={d} />}
              </Async>
              <h2>Metrics</h2>
              <Async state={observations} what="observations" project={project}>
                {(o) => <Tiles reasons={(decision.data?.reasons ?? []) as Reason[]} observations={o.items.filter((x) => x.rollout_id === r.id)} />}
              </Async>
              <h2>Evidence packs</h2>
              {r.evidence.length === 0 ? (
                <p>None yet (one is written when the rollout is promoted or aborted).</p>
              ) : (
                <ul>
                  {r.evidence.map((id) => (
                    <li key={id}>
                      <a href={ui("projects", project, "evidence", id)}>{id}</a>
                    </li>
                  ))}
                </ul>
              )}
            </>
          )}
        </Async>
      )}
    </>
  );
}

function Overview({ project, r }: { project: string; r: Rollout }) {
  return (
    <dl class="facts">
      <dt>State</dt>
      <dd>
        <Badge tone={r.state === "aborted" ? "bad" : r.state === "promoted" ? "good" : r.state === "paused" ? "warn" : "info"}>{r.state}</Badge>
        {r.auto && <> <Badge tone="plain">automatic</Badge></>}
      </dd>
      <dt>Stable</dt>
      <dd>
        <a href={ui("projects", project, "version-sets", r.stable)}>
          <code>{shortId(r.stable)}</code>
        </a>
      </dd>
      <dt>Candidate</dt>
      <dd>
        <a href={ui("projects", project, "version-sets", r.candidate)}>
          <code>{shortId(r.candidate)}</code>
        </a>{" "}
        (<a href={`${ui("projects", project, "diff")}?from=${encodeURIComponent(r.stable)}&to=${encodeURIComponent(r.candidate)}`}>diff</a>)
      </dd>
      <dt>Candidate share</dt>
      <dd>
        <progress max={100} value={r.percent} aria-label={`Candidate share ${r.percent}%`} /> {r.percent}%{r.step !== undefined && <> · step {r.step}</>}
      </dd>
      {r.bake_remaining_seconds !== undefined && (
        <>
          <dt>Bake</dt>
          <dd>
            {r.bake_remaining_seconds > 0 ? `${Math.ceil(r.bake_remaining_seconds)} s left` : "baked"}
            {r.step_started_at && <> (step since {when(r.step_started_at)})</>}
          </dd>
        </>
      )}
      {r.next_action && (
        <>
          <dt>Next</dt>
          <dd>{r.next_action}</dd>
        </>
      )}
      <dt>Started</dt>
      <dd>{when(r.created_at)}</dd>
      {r.ended_at && (
        <>
          <dt>Ended</dt>
          <dd>{when(r.ended_at)}</dd>
        </>
      )}
    </dl>
  );
}

function Controls({ project, env, r, decision, onDone }: { project: string; env: Schemas["Environment"]; r: Rollout; decision: Schemas["Decision"] | undefined; onDone: () => void }) {
  const self = useSelf();
  const path = { project, env: env.name };
  const refusal = deployRefusal(self, env);
  const [blocked, setBlocked] = useState<ApiError | undefined>();
  if (r.state === "promoted" || r.state === "aborted") return null;
  const step = async (what: "pause" | "resume" | "abort", reason: string) => {
    const body = reason ? { reason } : {};
    if (what === "pause") await ok(api.POST("/v1/projects/{project}/environments/{env}/rollout/pause", { params: { path }, body }));
    if (what === "resume") await ok(api.POST("/v1/projects/{project}/environments/{env}/rollout/resume", { params: { path }, body }));
    if (what === "abort") await ok(api.POST("/v1/projects/{project}/environments/{env}/rollout/abort", { params: { path }, body }));
    onDone();
  };
  return (
    <section aria-labelledby="controls">
      <h2 id="controls">Controls</h2>
      <div class="actions">
        <ActionButton
          label="Advance"
          refusal={refusal ?? (r.state !== "running" ? "Only a running rollout advances" : undefined)}
          onConfirm={async (reason) => {
            try {
              await ok(api.POST("/v1/projects/{project}/environments/{env}/rollout/advance", { params: { path }, body: reason ? { reason } : {} }));
              setBlocked(undefined);
              onDone();
            } catch (err) {
              if (err instanceof ApiError && err.problem.code === "gate_blocked") setBlocked(err);
              else throw err;
            }
          }}
        >
          {decision && decision.action !== "advance" && <p>The gate says {decision.action} now; advancing will be refused unless forced.</p>}
        </ActionButton>
        <ActionButton label="Pause" refusal={refusal ?? (r.state !== "running" ? "Only a running rollout pauses" : undefined)} onConfirm={(reason) => step("pause", reason)} />
        <ActionButton label="Resume" refusal={refusal ?? (r.state !== "paused" ? "Only a paused rollout resumes" : undefined)} onConfirm={(reason) => step("resume", reason)} />
        <ActionButton label="Abort" danger refusal={refusal} onConfirm={(reason) => step("abort", reason)} />
      </div>
      {blocked && (
        <div data-testid="gate-blocked">
          <ProblemView error={blocked} project={project} />
          <ActionButton
            label="Force advance"
            danger
            requireReason
            refusal={refusal}
            onConfirm={async (reason) => {
              await ok(api.POST("/v1/projects/{project}/environments/{env}/rollout/advance", { params: { path }, body: { force: true, reason } }));
              setBlocked(undefined);
              onDone();
            }}
          >
            <p>Forcing overrides the gate and is recorded in the history with your reason.</p>
          </ActionButton>
        </div>
      )}
    </section>
  );
}

function sentence(r: Reason): string {
  if (r.summary) return r.summary;
  return `${r.metric}: candidate ${num(r.candidate)} vs baseline ${num(r.baseline)}${r.threshold !== null ? ` (${r.threshold})` : ""}: ${r.verdict}`;
}

function DecisionView({ d }: { d: Schemas["Decision"] }) {
  return (
    <>
      <p data-testid="decision">
        Signal <Badge tone={SIGNAL_TONE[d.signal] ?? "plain"}>{d.signal}</Badge> · action <strong>{d.action}</strong>
      </p>
      <ul class="reasons">
        {(d.reasons as Reason[]).map((r, i) => (
          <li key={i}>
            <Badge tone={VERDICT_TONE[r.verdict] ?? "plain"}>{r.verdict}</Badge> {sentence(r)}
          </li>
        ))}
      </ul>
    </>
  );
}

function Tiles({ reasons, observations }: { reasons: Reason[]; observations: Schemas["Observation"][] }) {
  const windows = [...new Set(observations.map((o) => o.window_end))].sort();
  const valueAt = (side: "stable" | "candidate", end: string, metric: string) => {
    const o = observations.find((x) => x.side === side && x.window_end === end && (x.metrics as Record<string, number | undefined>)[metric] !== undefined);
    return o ? (o.metrics as Record<string, number>)[metric] : undefined;
  };
  return (
    <>
      {LINES.map(([line, metrics]) => (
        <section key={line} aria-labelledby={`line-${line}`}>
          <h3 id={`line-${line}`}>{line}</h3>
          <div class="tiles">
            {metrics.map((m) => {
              const r = reasons.find((x) => x.metric === m);
              return (
                <article class="tile" key={m} aria-label={m} data-testid={`tile-${m}`}>
                  <h4>{m}</h4>
                  <p>
                    baseline <strong>{num(r?.baseline)}</strong> · candidate <strong>{num(r?.candidate)}</strong> {r && <Badge tone={VERDICT_TONE[r.verdict] ?? "plain"}>{r.verdict}</Badge>}
                  </p>
                  {r?.interval && (
                    <p class="small">
                      Interval {num(r.interval.low)} to {num(r.interval.high)}
                      {r.confidence !== null && r.confidence !== undefined && <> at {Math.round(r.confidence * 100)}% confidence</>}
                      {r.samples && <> · samples {r.samples.baseline} / {r.samples.candidate}</>}
                      {r.method && <> · {r.method}</>}
                    </p>
                  )}
                  {windows.length > 0 && (
                    <TableWrap label={`${m} by window`}>
                      <table class="small">
                        <thead>
                          <tr>
                            <th scope="col">Window ending</th>
                            <th scope="col">Baseline</th>
                            <th scope="col">Candidate</th>
                          </tr>
                        </thead>
                        <tbody>
                          {windows.map((w) => (
                            <tr key={w}>
                              <td>{shortWhen(w)}</td>
                              <td>{num(valueAt("stable", w, m))}</td>
                              <td>{num(valueAt("candidate", w, m))}</td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                    </TableWrap>
                  )}
                </article>
              );
            })}
          </div>
        </section>
      ))}
    </>
  );
}
