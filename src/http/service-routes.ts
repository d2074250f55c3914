import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Router, type Request } from "express";
import type { TokenLookup } from "./token-lookup.js";
import { DEFAULT_READYZ_TIMEOUT_MS } from "../config.js";
import { withDatabaseBudget } from "../db/budgets.js";
import { bearerSecret } from "./auth.js";
import type { Metrics } from "./metrics.js";

export const OPENAPI_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../openapi/pinset.yaml");

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

interface CheckResult {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
}

/**
 * Unauthenticated service endpoints: liveness, readiness, metrics and the API document.
 *
 * `/readyz` runs every check at once, each given `readyzTimeoutMs` (database statements are
 * capped at it too, so a hung database costs one probe that long, not a pooled connection for
 * good). Anyone may ask, so the answer names only the failed checks; why they failed (error
 * messages name hosts and ports) is shown to an admin token alone. A token that is not one —
 * or cannot be checked in time — gets the short answer, never a 401: a probe must not fail on
 * a header.
 */
export function serviceRouter(deps: {
  metrics: Metrics;
  readiness: ReadinessCheck[];
  tokens?: Pick<TokenLookup, "peek" | "resolve">;
  readyzTimeoutMs?: number;
}): Router {
  const readyzMs = deps.readyzTimeoutMs ?? DEFAULT_READYZ_TIMEOUT_MS;
  const router = Router();
  let openapi: Promise<{ yaml: string; json: string }> | undefined;
  const loadOpenapi = () =>
    // The YAML parser is imported on the first request for the document, not at start-up.
    (openapi ??= Promise.all([readFile(OPENAPI_PATH, "utf8"), import("yaml")]).then(([yaml, { parse }]) => ({ yaml, json: JSON.stringify(parse(yaml)) })));

  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });

  router.get("/readyz", async (req, res) => {
    const [results, admin] = await Promise.all([Promise.all(deps.readiness.map((r) => runCheck(r, readyzMs))), isAdmin(req, deps.tokens, readyzMs)]);
    const failed = results.filter((r) => !r.ok).map((r) => r.name);
    res.setHeader("cache-control", "no-store");
    res.status(failed.length === 0 ? 200 : 503).json({
      status: failed.length === 0 ? "ready" : "unavailable",
      failed,
      ...(admin ? { checks: results } : {}),
    });
  });

  router.get("/metrics", async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  router.get("/openapi.yaml", async (_req, res) => {
    res.type("application/yaml").send((await loadOpenapi()).yaml);
  });
  router.get("/openapi.json", async (_req, res) => {
    res.type("application/json").send((await loadOpenapi()).json);
  });
  return router;
}

async function runCheck(r: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  try {
    await withTimeout(
      withDatabaseBudget(timeoutMs, () => r.check()),
      timeoutMs,
    );
    return { name: r.name, ok: true, ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { name: r.name, ok: false, ms: Math.round(performance.now() - started), error: (err as Error).message };
  }
}

async function isAdmin(req: Request, tokens: Pick<TokenLookup, "peek" | "resolve"> | undefined, timeoutMs: number): Promise<boolean> {
  const secret = bearerSecret(req.headers.authorization);
  if (!tokens || secret === undefined) return false;
  let principal = tokens.peek(secret);
  if (principal === undefined) {
    principal = await withTimeout(
      withDatabaseBudget(timeoutMs, () => tokens.resolve(secret)),
      timeoutMs,
    ).catch(() => null);
  }
  return principal?.scopes.has("admin") ?? false;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
