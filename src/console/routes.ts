import { Router, type Response } from "express";
import type { ConsoleBundle } from "./bundle.js";

/**
 * The console's pages may run only the bundle's own script and style, talk only to this
 * origin, and never be framed. No inline script or style is allowed (the bundle sets styles
 * through the DOM, which CSP permits).
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Pinset console not built</title></head>
<body><h1>The Pinset console is not built</h1><p>Run <code>npm run build:console</code> (or <code>npm install</code>) in the Pinset directory and restart the server. The JSON API under <code>/v1</code> works without it.</p></body></html>`;

function pageHeaders(res: Response): void {
  res.setHeader("content-security-policy", CONSOLE_CSP);
  res.setHeader("x-frame-options", "DENY");
  res.setHeader("x-content-type-options", "nosniff");
  res.setHeader("referrer-policy", "no-referrer");
}

/**
 * `GET /` and every `GET /ui/…` page answer the console's HTML (the browser-side router picks
 * the page, so deep links survive a reload); `/ui/assets/<hashed name>` answers a file of the
 * bundle, cached for a year since its name changes with its content. Anything else falls
 * through to the API's 404. Without a built bundle the pages say how to build it (503).
 */
export function consoleRouter(bundle: ConsoleBundle | undefined): Router {
  const router = Router({ caseSensitive: true, strict: false });
  router.get("/ui/assets/:file", (req, res, next) => {
    const asset = bundle?.assets.get(req.params.file);
    if (!asset) return next();
    pageHeaders(res);
    res.setHeader("cache-control", "public, max-age=31536000, immutable");
    res.type(asset.type).send(asset.body);
  });
  const page = (_req: unknown, res: Response) => {
    pageHeaders(res);
    res.setHeader("cache-control", "no-cache");
    if (!bundle) return void res.status(503).type("html").send(NOT_BUILT);
    res.type("html").send(bundle.index);
  };
  router.get("/", page);
  router.get(/^\/ui(?:\/(?!assets(?:\/|$))[^]*)?$/, page);
  return router;
}
