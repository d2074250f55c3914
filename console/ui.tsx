import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { ApiError } from "./api.js";
import { ui, withQuery } from "./router.js";

/** An API error as the server said it: title, detail, field errors and the trace id. */
export function ProblemView({ error, project }: { error: Error; project?: string | undefined }) {
  if (!(error instanceof ApiError)) {
    return (
      <div class="problem" role="alert">
        <p class="problem-title">Something went wrong</p>
        <p>{error.message}</p>
      </div>
    );
  }
  const p = error.problem;
  return (
    <div class="problem" role="alert" data-testid="problem">
      <p class="problem-title">
        {p.title} <span class="muted">({p.status})</span>
      </p>
      <p class="problem-detail">{p.detail}</p>
      {p.errors && p.errors.length > 0 && (
        <ul>
          {p.errors.map((e) => (
            <li key={e.path}>
              <code>{e.path}</code>: {e.message}
            </li>
          ))}
        </ul>
      )}
      {p.trace_id && (
        <p class="muted">
          Trace id: <code data-testid="trace-id">{p.trace_id}</code>
          {project && (
            <>
              {" "}
              (<a href={withQuery(ui("projects", project, "audit"), { trace_id: p.trace_id })}>audit rows of this trace</a>)
            </>
          )}
        </p>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

/** Renders the data when loaded; the problem when it failed; a status line meanwhile. */
export function Async<T>({ state, what, project, children }: { state: { data: T | undefined; error: Error | undefined }; what: string; project?: string | undefined; children: (data: T) => ComponentChildren }) {
  if (state.error) return <ProblemView error={state.error} project={project} />;
  if (state.data === undefined) return <Loading what={what} />;
  return <>{children(state.data)}</>;
}

/** Colour is never the only signal: every badge says its meaning in words. */
export function Badge({ tone, children }: { tone: "bad" | "good" | "warn" | "info" | "plain"; children: ComponentChildren }) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

/** A wide table scrolls inside a focusable region (keyboard users can scroll it too). */
export function TableWrap({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

/**
 * A button that opens a small form asking for a reason before it acts. `refusal` disables it
 * and says why (the server refuses anyway). `requireReason`: the reason must be typed.
 */
export function ActionButton(props: {
  label: string;
  confirmLabel?: string;
  refusal?: string | undefined;
  requireReason?: boolean;
  danger?: boolean;
  children?: ComponentChildren;
  onConfirm: (reason: string) => Promise<void>;
}) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | undefined>();
  const id = `reason-${props.label.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  if (!open) {
    return (
      <span class="action">
        <button type="button" class={props.danger ? "danger" : ""} disabled={props.refusal !== undefined} aria-describedby={props.refusal ? `${id}-why` : undefined} onClick={() => setOpen(true)}>
          {props.label}
        </button>
        {props.refusal && (
          <span id={`${id}-why`} class="muted small">
            {props.refusal}
          </span>
        )}
      </span>
    );
  }
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await props.onConfirm(reason.trim());
      setOpen(false);
      setReason("");
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="action-form" onSubmit={submit} aria-label={props.label}>
      {props.children}
      <label for={id}>Reason{props.requireReason ? " (required)" : ""}</label>
      <textarea id={id} rows={2} maxLength={1024} value={reason} required={props.requireReason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} />
      <div class="row">
        <button type="submit" class={props.danger ? "danger" : ""} disabled={busy || (props.requireReason === true && reason.trim() === "")}>
          {props.confirmLabel ?? `Confirm ${props.label.toLowerCase()}`}
        </button>
        <button type="button" class="secondary" onClick={() => (setOpen(false), setError(undefined))}>
          Cancel
        </button>
      </div>
      {error && <ConflictAware error={error} />}
    </form>
  );
}

/** A 409 on a stale revision says so plainly; everything else is the problem as sent. */
export function ConflictAware({ error }: { error: Error }) {
  if (error instanceof ApiError && error.status === 409 && error.problem.code === "conflict") {
    return (
      <div role="alert" class="problem" data-testid="stale">
        <p class="problem-title">Changed since you looked — reload</p>
        <p class="problem-detail">{error.problem.detail}</p>
        <p class="muted">
          Nothing was changed. Trace id: <code>{error.problem.trace_id}</code>
        </p>
        <button type="button" onClick={() => location.reload()}>
          Reload
        </button>
      </div>
    );
  }
  return <ProblemView error={error} />;
}

/** Pretty-printed JSON whose objects and arrays fold (<details>), for schemas and configs. */
export function JsonTree({ value, name, depth = 0 }: { value: unknown; name?: string; depth?: number }) {
  const label = name !== undefined ? <span class="json-key">{JSON.stringify(name)}: </span> : null;
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as Record<string, unknown>);
    const [open, close] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
    if (entries.length === 0) return <div class="json-line">{label}{open + close}</div>;
    return (
      <details class="json" open={depth < 3}>
        <summary>
          {label}
          {open} <span class="muted">{entries.length} {Array.isArray(value) ? "items" : "keys"}</span>
        </summary>
        <div class="json-body">
          {entries.map(([k, v]) => (
            <JsonTree key={k} value={v} {...(Array.isArray(value) ? {} : { name: k })} depth={depth + 1} />
          ))}
        </div>
        <div class="json-line">{close}</div>
      </details>
    );
  }
  return (
    <div class="json-line">
      {label}
      <span class={`json-${value === null ? "null" : typeof value}`}>{JSON.stringify(value)}</span>
    </div>
  );
}

export function Crumbs({ items }: { items: Array<[string, string] | string> }) {
  return (
    <nav aria-label="Breadcrumb" class="crumbs">
      <ol>
        {items.map((item, i) => (
          <li key={i}>{typeof item === "string" ? <span aria-current="page">{item}</span> : <a href={item[1]}>{item[0]}</a>}</li>
        ))}
      </ol>
    </nav>
  );
}
