import { useEffect, useState } from "preact/hooks";

/**
 * The signed-in token lives in sessionStorage only (gone with the tab; never localStorage,
 * never a URL). Ending the session keeps the page's URL: the app shows sign-in in place and
 * the same page after it.
 */
const KEY = "pinset.token";
type Listener = () => void;
const listeners = new Set<Listener>();
let message: string | undefined;

function notify() {
  for (const l of listeners) l();
}

export const session = {
  token(): string | null {
    return sessionStorage.getItem(KEY);
  },
  start(token: string) {
    sessionStorage.setItem(KEY, token);
    message = undefined;
    notify();
  },
  end(why?: string) {
    sessionStorage.removeItem(KEY);
    message = why;
    notify();
  },
  /** Why the last session ended (shown on the sign-in form). */
  message(): string | undefined {
    return message;
  },
  subscribe(l: Listener): () => void {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};

export function useSignedIn(): boolean {
  const [signedIn, set] = useState(() => session.token() !== null);
  useEffect(() => session.subscribe(() => set(session.token() !== null)), []);
  return signedIn;
}
