import { useEffect, useRef, useState } from "preact/hooks";
import type { Schemas } from "./api.js";
import { session } from "./session.js";

type Environment = Schemas["Environment"];

/**
 * Follows `…/environments/{env}/watch` (Server-Sent Events) with fetch, since EventSource
 * cannot send the Authorization header and the token must not go into the URL. Reconnects
 * with `Last-Event-ID`, so no revision is missed; a 401 ends the session.
 */
export function useWatch(project: string, env: string, onChange: (environment: Environment) => void): "connecting" | "live" | "retrying" {
  const [status, setStatus] = useState<"connecting" | "live" | "retrying">("connecting");
  const handler = useRef(onChange);
  handler.current = onChange;
  useEffect(() => {
    const abort = new AbortController();
    let lastId: string | undefined;
    let delay = 500;
    const run = async () => {
      while (!abort.signal.aborted) {
        try {
          const token = session.token();
          if (!token) return;
          const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: "text/event-stream" };
          if (lastId) headers["last-event-id"] = lastId;
          const res = await fetch(`/v1/projects/${encodeURIComponent(project)}/environments/${encodeURIComponent(env)}/watch`, { headers, signal: abort.signal });
          if (res.status === 401) {
            session.end("Your session ended: the token expired or was revoked. Sign in again to continue on this page.");
            return;
          }
          if (!res.ok || !res.body) throw new Error(`watch answered ${res.status}`);
          setStatus("live");
          delay = 500;
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += value;
            let end: number;
            while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
              const frame = buffer.slice(0, end);
              buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
              let id: string | undefined;
              let data = "";
              for (const line of frame.split(/\r?\n/)) {
                if (line.startsWith("id:")) id = line.slice(3).trim();
                else if (line.startsWith("data:")) data += line.slice(5).trimStart();
              }
              if (id) lastId = id;
              if (data) handler.current(JSON.parse(data) as Environment);
            }
          }
        } catch (err) {
          if (abort.signal.aborted) return;
          void err;
        }
        setStatus("retrying");
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    };
    void run();
    return () => abort.abort();
  }, [project, env]);
  return status;
}
