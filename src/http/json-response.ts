import type { Response } from "express";

const CHARSET = /;\s*charset=/i;

/**
 * An answer a service encoded already (a cached diff, an artifact whose stored content is
 * spliced in as it is): `res.json` sends its text unchanged instead of stringifying again.
 */
export class JsonText {
  constructor(readonly text: string) {}
}

/**
 * `res.json` for every route (installed on the app's response prototype by app.ts). Express'
 * own stringifies, then `res.send` looks the content type up again, re-parses it to set the
 * charset, copies any body of 1 000 characters or more into a Buffer (so node writes head and
 * body as two chunks), and asks whether the request is fresh. Answers here are encoded once,
 * written as one string with their head, and carry the same headers as before: a content type
 * with `charset=utf-8` (a type the route set is kept), `Content-Length`, and no body for HEAD,
 * 204, 205 and 304. A request can only be fresh when the route set a validator (ETag or
 * Last-Modified); only then is freshness checked, exactly as express does.
 */
export function sendJson(this: Response, body: unknown): Response {
  // JSON.stringify answers undefined for undefined (and functions): express sends no body then.
  const json = body instanceof JsonText ? body.text : (JSON.stringify(body) as string | undefined);
  const type = this.getHeader("Content-Type");
  if (type === undefined) this.setHeader("Content-Type", "application/json; charset=utf-8");
  else if (typeof type === "string" && !CHARSET.test(type)) this.setHeader("Content-Type", `${type}; charset=utf-8`);
  if ((this.hasHeader("ETag") || this.hasHeader("Last-Modified")) && this.req.fresh) this.statusCode = 304;
  const status = this.statusCode;
  if (status === 204 || status === 304) {
    this.removeHeader("Content-Type");
    this.removeHeader("Content-Length");
    this.removeHeader("Transfer-Encoding");
    this.end();
    return this;
  }
  if (status === 205 || json === undefined) {
    if (status === 205) this.setHeader("Content-Length", "0");
    this.end();
    return this;
  }
  if (!this.hasHeader("Transfer-Encoding")) this.setHeader("Content-Length", Buffer.byteLength(json));
  if (this.req.method === "HEAD") this.end();
  else this.end(json);
  return this;
}
