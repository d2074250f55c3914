import type { Schemas } from "./api.js";
import { diffWords, type Part } from "./word-diff.js";

type PromptContent = Schemas["PromptContent"];

/** `{{placeholders}}` highlighted (marked and labelled, not only coloured). */
export function Placeholders({ text }: { text: string }) {
  const parts = text.split(/(\{\{\s*[A-Za-z_][A-Za-z0-9_.-]*\s*\}\})/);
  return (
    <>
      {parts.map((p, i) =>
        i % 2 === 1 ? (
          <mark key={i} class="ph" title="placeholder">
            {p}
          </mark>
        ) : (
          p
        ),
      )}
    </>
  );
}

export function PromptText({ content }: { content: PromptContent }) {
  if ("template" in content)
    return (
      <pre class="prompt" tabIndex={0} aria-label="Template">
        <Placeholders text={content.template} />
      </pre>
    );
  return (
    <ol class="messages">
      {content.messages.map((m, i) => (
        <li key={i}>
          <span class="role">{m.role}</span>
          <pre class="prompt" tabIndex={0} aria-label={`Message ${i + 1} (${m.role})`}>
            <Placeholders text={m.content} />
          </pre>
        </li>
      ))}
    </ol>
  );
}

function Side({ parts, side, label }: { parts: Part[]; side: "del" | "ins"; label: string }) {
  return (
    <pre class="prompt" tabIndex={0} aria-label={label}>
      {parts.map((p, i) =>
        p.op === "same" ? (
          p.text
        ) : p.op === side ? (
          side === "del" ? (
            <del key={i}>{p.text}</del>
          ) : (
            <ins key={i}>{p.text}</ins>
          )
        ) : null,
      )}
    </pre>
  );
}

function Pair({ from, to, label }: { from: string; to: string; label?: string }) {
  const parts = diffWords(from, to);
  return (
    <div class="sides">
      <div class="side">
        <p class="side-label">Before{label ? ` · ${label}` : ""} (removed words struck through)</p>
        <Side parts={parts} side="del" label={`Before${label ? ` · ${label}` : ""}`} />
      </div>
      <div class="side">
        <p class="side-label">After{label ? ` · ${label}` : ""} (added words underlined)</p>
        <Side parts={parts} side="ins" label={`After${label ? ` · ${label}` : ""}`} />
      </div>
    </div>
  );
}

/** Two prompts side by side with word-level highlights; chat prompts message by message. */
export function PromptCompare({ from, to }: { from: PromptContent | undefined; to: PromptContent | undefined }) {
  const asMessages = (c: PromptContent | undefined) => (!c ? [] : "template" in c ? [{ role: "template", content: c.template }] : c.messages);
  const a = asMessages(from);
  const b = asMessages(to);
  const rows = Math.max(a.length, b.length);
  return (
    <div class="prompt-compare">
      {Array.from({ length: rows }, (_, i) => {
        const ma = a[i];
        const mb = b[i];
        const role = ma?.role === mb?.role ? (ma?.role ?? "") : `${ma?.role ?? "—"} → ${mb?.role ?? "—"}`;
        return <Pair key={i} from={ma?.content ?? ""} to={mb?.content ?? ""} label={rows > 1 || role !== "template" ? `message ${i + 1} [${role}]` : ""} />;
      })}
    </div>
  );
}
