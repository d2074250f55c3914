import { useState } from "preact/hooks";
import { ApiError } from "../api.js";
import { useTitle } from "../hooks.js";
import { session } from "../session.js";
import { ProblemView } from "../ui.js";

/**
 * Shown in place of any page while no token is held: the URL stays, so signing in (again,
 * after an expiry) lands on the page that was open.
 */
export function SignIn() {
  useTitle("Sign in");
  const [token, setToken] = useState("");
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const ended = session.message();
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      // Checked with a direct call so a wrong token does not count as a session that ended.
      const res = await fetch("/v1/tokens/self", { headers: { authorization: `Bearer ${token.trim()}` } });
      if (!res.ok) {
        const problem = await res.json().catch(() => undefined);
        throw new ApiError(res.status, problem ?? { type: "about:blank", title: res.statusText, status: res.status, detail: "", code: "unknown", trace_id: res.headers.get("x-trace-id") ?? "" });
      }
      session.start(token.trim());
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="sign-in">
      <h1>Sign in to Pinset</h1>
      {ended && (
        <p role="status" class="notice" data-testid="session-ended">
          {ended}
        </p>
      )}
      <form onSubmit={submit}>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autoComplete="off" spellcheck={false} required value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
        <p class="muted small">Kept in this tab only (sessionStorage) and sent as an Authorization header; never put in a URL.</p>
        <button type="submit" disabled={busy || token.trim() === ""}>
          Sign in
        </button>
      </form>
      {error && <ProblemView error={error} />}
    </main>
  );
}
