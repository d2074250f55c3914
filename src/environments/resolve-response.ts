import type { IncomingMessage } from "node:http";
import type { FastResponse } from "../http/fast-answer.js";
import type { ResolveAnswer } from "./resolver.js";

/** `if-none-match` holds `*` or a list of (possibly weak) entity tags. */
export function matchesEtag(req: Pick<IncomingMessage, "headers">, etag: string): boolean {
  const header = req.headers["if-none-match"];
  if (typeof header !== "string") return false;
  return header.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t === etag || t === `W/${etag}`;
  });
}

/**
 * The whole response to a resolve: status and headers (flat: name, value, …) and the bundle.
 * The one place that decides them, whether the router or the fast lane sends the answer.
 * 304 when the client holds the etag (or the resolver built no body because it does).
 */
export function resolveResponse(answer: ResolveAnswer, notModified: boolean): FastResponse {
  const headers = [
    "etag", answer.etag,
    "x-pinset-version-set", answer.versionSet,
    // A pointer that can move: caches must revalidate (a cheap 304) before reusing the bundle.
    "cache-control", "no-cache",
  ];
  if (answer.assignment) headers.push("x-pinset-assignment", answer.assignment);
  if (answer.stale) headers.push("x-pinset-stale", "true");
  if (notModified || !answer.body) return { status: 304, headers };
  headers.push("content-type", "application/json; charset=utf-8", "content-length", String(answer.body.length));
  return { status: 200, headers, body: answer.body };
}

interface Prepared {
  ok: FastResponse;
  notModified: FastResponse;
}

/**
 * The fast lane's responses for answers the resolve cache holds, built once per cached answer
 * (the cache keeps the same object until the environment changes), so a hit builds no headers.
 */
export class PreparedResolveResponses {
  private readonly prepared = new WeakMap<ResolveAnswer, Prepared>();

  of(answer: ResolveAnswer, req: Pick<IncomingMessage, "headers">): FastResponse {
    let ready = this.prepared.get(answer);
    if (!ready) {
      ready = { ok: resolveResponse(answer, false), notModified: resolveResponse(answer, true) };
      this.prepared.set(answer, ready);
    }
    return req.headers["if-none-match"] !== undefined && matchesEtag(req, answer.etag) ? ready.notModified : ready.ok;
  }
}
