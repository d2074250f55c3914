import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { literalHostProblem, nonPublicAddress } from "./address-policy.js";
import { SIGNATURE_HEADER, signBody } from "./signature.js";

export interface SendRequest {
  url: string;
  deliveryId: string;
  event: string;
  attempt: number;
  body: string;
  secret: string;
}

export interface SendResult {
  ok: boolean;
  statusCode: number | null;
  /** Why it failed, without the URL or anything the receiver sent back; null when ok. */
  error: string | null;
  /** The send was cut short by `signal` (shutdown), not by the receiver or the time-out. */
  aborted: boolean;
}

export type Sender = (request: SendRequest, options: { timeoutMs: number; signal: AbortSignal }) => Promise<SendResult>;

export function deliveryHeaders(request: SendRequest): Record<string, string> {
  return {
    "content-type": "application/json",
    "user-agent": "pinset-webhooks/1",
    "x-pinset-event": request.event,
    "x-pinset-delivery": request.deliveryId,
    "x-pinset-attempt": String(request.attempt),
    [SIGNATURE_HEADER]: signBody(request.secret, request.body),
  };
}

function describeFailure(err: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `timed out after ${timeoutMs} ms`;
  if (err instanceof TargetRefusedError) return err.message;
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } } | null;
  const code = typeof e?.code === "string" ? e.code : typeof e?.cause?.code === "string" ? e.cause.code : undefined;
  if (code) return `connection failed: ${code}`;
  const message = typeof e?.cause?.message === "string" ? e.cause.message : err instanceof Error ? err.message : String(err);
  return `request failed: ${message.slice(0, 200)}`;
}

/** The target is a non-public address and PINSET_WEBHOOK_ALLOW_PRIVATE is off. */
export class TargetRefusedError extends Error {
  override readonly name = "TargetRefusedError";
}

function refusal(what: string): TargetRefusedError {
  return new TargetRefusedError(`refused: the host ${what}; webhooks go to public addresses only (PINSET_WEBHOOK_ALLOW_PRIVATE=true allows others)`);
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
/** dns.lookup with `all: true` (injectable for tests). */
export type Resolver = (hostname: string, options: LookupOptions & { all: true }, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

const systemResolver: Resolver = (hostname, options, callback) => dnsLookup(hostname, options, callback);

/**
 * The resolver the connection uses: resolves every address of the name and refuses the lot if
 * any is not public. The socket connects to an address from this very answer, so a second DNS
 * answer (rebinding) cannot swap in another address between the check and the connect.
 */
const guardedLookup = (resolver: Resolver) => (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
  resolver(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const bad = addresses.find((a) => nonPublicAddress(a.address) !== undefined);
    if (bad) return callback(refusal(`resolves to ${bad.address}, a ${nonPublicAddress(bad.address)} address`), []);
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: "ENOTFOUND" }), []);
    callback(null, first.address, first.family);
  });
};

/**
 * A Sender that POSTs one delivery. Redirects are never followed (a receiver must answer at the
 * URL it registered; following would let it bounce signed requests elsewhere, e.g. into the
 * registry's own network), so a 3xx counts as a failure. The response body is discarded
 * unread. Unless `allowPrivate`, the target must be a public address: a literal host is checked
 * before connecting, a name after resolving it (guardedLookup). Never throws.
 */
export function httpSender(policy: { allowPrivate: boolean; resolver?: Resolver }): Sender {
  const lookup = guardedLookup(policy.resolver ?? systemResolver) as unknown as LookupFunction;
  // Own agents: a kept-alive socket is reused only by senders of the same policy.
  const agents = { "http:": new http.Agent({ keepAlive: true }), "https:": new https.Agent({ keepAlive: true }) };
  return (request, options) =>
    new Promise<SendResult>((resolve) => {
      const url = new URL(request.url);
      const fail = (error: string, aborted = false) => resolve({ ok: false, statusCode: null, error, aborted });
      if (url.protocol !== "http:" && url.protocol !== "https:") return fail(`request failed: unsupported protocol ${url.protocol}`);
      if (!policy.allowPrivate) {
        const problem = literalHostProblem(url.hostname);
        if (problem) return fail(refusal(problem).message);
      }
      if (options.signal.aborted) return fail("aborted: registry shutting down", true);
      const body = Buffer.from(request.body, "utf8");
      const client = url.protocol === "https:" ? https : http;
      let timedOut = false;
      const req = client.request(url, {
        method: "POST",
        agent: agents[url.protocol],
        headers: { ...deliveryHeaders(request), "content-length": String(body.byteLength) },
        ...(policy.allowPrivate ? {} : { lookup }),
      });
      const timer = setTimeout(() => {
        timedOut = true;
        req.destroy();
      }, options.timeoutMs);
      const onAbort = () => req.destroy();
      options.signal.addEventListener("abort", onAbort, { once: true });
      const done = () => {
        clearTimeout(timer);
        options.signal.removeEventListener("abort", onAbort);
      };
      req.on("response", (res) => {
        done();
        // Small bodies are drained so the connection can be reused; anything else is cut.
        const length = Number(res.headers["content-length"]);
        if (Number.isFinite(length) && length <= 64 * 1024) res.resume();
        else res.destroy();
        const status = res.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        const error = ok ? null : status >= 300 && status < 400 ? `HTTP ${status} (redirects are not followed)` : `HTTP ${status}`;
        resolve({ ok, statusCode: status, error, aborted: false });
      });
      req.on("error", (err) => {
        done();
        if (options.signal.aborted) return fail("aborted: registry shutting down", true);
        fail(describeFailure(err, timedOut, options.timeoutMs));
      });
      req.on("close", () => {
        // Destroyed before any error or response (time-out or shutdown with no socket yet).
        done();
        if (options.signal.aborted) fail("aborted: registry shutting down", true);
        else if (timedOut) fail(describeFailure(undefined, true, options.timeoutMs));
      });
      req.end(body);
    });
}
