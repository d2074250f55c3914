import { unwrap } from "../../client/client.js";
import type { components } from "../../client/api-types.js";
import { PinsetApiError } from "../../client/errors.js";
import { environmentBase, isTransient } from "../../client/resolve-request.js";
import { watchOnce } from "../../client/watch-stream.js";
import type { CommandContext } from "../context.js";
import { CliError, EXIT } from "../errors.js";

type Rollout = components["schemas"]["Rollout"];
type Decision = components["schemas"]["Decision"];

export interface WatchRender {
  rollout(ctx: CommandContext, r: Rollout): string[];
  decision(ctx: CommandContext, d: Decision): string[];
}

const CLEAR = "\u001b[H\u001b[2J";
const ended = (r: Rollout) => r.state === "promoted" || r.state === "aborted";

/**
 * `rollout status --watch`: the rollout and its gate decision, redrawn whenever the environment
 * changes (its watch stream: every rollout step is a revision) and every `intervalMs` for the
 * decision (observations are not revisions). Ends on Ctrl-C (exit 0), or when the rollout ends:
 * promoted exits 0, aborted exits 1, so `--watch` can gate a pipeline step.
 */
export async function watchRollout(ctx: CommandContext, env: string, options: { intervalMs: number; render: WatchRender }): Promise<void> {
  const project = ctx.project;
  const path = { params: { path: { project, env } } };
  const getRollout = () => unwrap(ctx.client.GET("/v1/projects/{project}/environments/{env}/rollout", path));
  const getDecision = async (): Promise<Decision | undefined> => {
    try {
      return await unwrap(ctx.client.GET("/v1/projects/{project}/environments/{env}/rollout/decision", path));
    } catch (error) {
      if (error instanceof PinsetApiError && (error.status === 404 || error.status === 409)) return undefined;
      throw error;
    }
  };

  const interrupted = ctx.io.interrupts?.() ?? new AbortController().signal;
  const finished = new AbortController();
  const stop = AbortSignal.any([interrupted, finished.signal]);
  const tty = Boolean(ctx.io.stdout.isTTY) && !ctx.json;
  let shown = "";
  let outcome: Rollout | undefined;
  let failure: unknown;

  const show = (rollout: Rollout, decision: Decision | undefined, revision: number | undefined) => {
    // What counts as a change: not the bake's countdown (it moves on every read).
    const { bake_remaining_seconds: _left, next_action_reason: _why, ...steady } = rollout as Rollout & { bake_remaining_seconds?: unknown; next_action_reason?: unknown };
    const key = JSON.stringify({ rollout: steady, decision: decision ?? null });
    if (key === shown) return;
    shown = key;
    if (ctx.json) {
      ctx.io.stdout.write(`${JSON.stringify({ rollout, decision: decision ?? null })}\n`);
      return;
    }
    const block = [...options.render.rollout(ctx, rollout), ...(decision ? ["", ...options.render.decision(ctx, decision)] : [])].join("\n");
    // A terminal shows the latest state in place; a pipe or log gets each new state after a blank line.
    if (tty) ctx.io.stdout.write(`${CLEAR}${block}\n\n${ctx.colour.dim(`watching ${env} (revision ${revision ?? rollout.revision}); Ctrl-C to stop`)}\n`);
    else ctx.print(`${block}\n`);
  };

  // Refreshes run one at a time, in order: a slow answer cannot overwrite a newer one.
  let queue: Promise<void> = Promise.resolve();
  const refresh = (revision?: number) => {
    queue = queue.then(async () => {
      if (finished.signal.aborted) return;
      try {
        const rollout = await getRollout();
        const decision = ended(rollout) ? undefined : await getDecision();
        show(rollout, decision, revision);
        if (ended(rollout)) {
          outcome = rollout;
          finished.abort();
        }
      } catch (error) {
        // Once the first state is shown, a registry that is briefly away (a restart) is waited
        // out: the stream reconnects and the next event or poll reads again.
        if (shown !== "" && isTransient(error)) return ctx.note(`pinset: cannot read the rollout right now (${(error as Error).message}); retrying`);
        failure = error;
        finished.abort();
      }
    });
    return queue;
  };

  await refresh();
  const poll = setInterval(() => void refresh(), options.intervalMs);
  let lastEventId: string | undefined;
  let delay = 500;
  try {
    while (!stop.aborted) {
      const result = await watchOnce(
        { fetch: (url, init) => fetch(url, init), base: environmentBase(ctx.options.url, project, env), subject: undefined, headers: ctx.authHeaders(), timeoutMs: 10_000 },
        {
          signal: stop,
          idleTimeoutMs: 45_000,
          staleRecheckMs: 30_000,
          handlers: {
            lastEventId,
            onOpen: () => (delay = 500),
            onState: async (state, id) => {
              if (id !== undefined) lastEventId = id;
              await refresh(state.revision);
            },
          },
        },
      );
      if (result.kind === "closed" || stop.aborted) break;
      if (result.kind === "unsupported") throw new CliError(`the registry does not stream changes of ${env} (${result.detail}); run 'pinset rollout status ${env}' instead`);
      if (result.kind === "failed" && result.error instanceof PinsetApiError && result.error.status < 500 && result.error.status !== 429) throw result.error;
      // The stream ended or failed for a reason that may pass (a restart, a proxy's idle cut): reconnect.
      if (result.kind === "failed") ctx.note(`pinset: the watch stream broke (${result.error.message}); reconnecting`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  } finally {
    clearInterval(poll);
    finished.abort();
    await queue;
  }
  if (failure) throw failure;
  if (outcome?.state === "aborted") throw new CliError(`rollout ${outcome.id} was aborted: ${outcome.environment} serves ${outcome.stable} to everyone`, EXIT.error);
}
