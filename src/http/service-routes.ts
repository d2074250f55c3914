import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Router } from "express";
import { parse as parseYaml } from "yaml";
import type { Metrics } from "./metrics.js";

export const OPENAPI_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../openapi/pinset.yaml");

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/** Unauthenticated service endpoints: liveness, readiness, metrics and the API document. */
export function serviceRouter(deps: { metrics: Metrics; readiness: ReadinessCheck[] }): Router {
  const router = Router();
  let openapi: Promise<{ yaml: string; json: string }> | undefined;
  const loadOpenapi = () =>
    (openapi ??= readFile(OPENAPI_PATH, "utf8").then((yaml) => ({ yaml, json: JSON.stringify(parseYaml(yaml)) })));

  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });

  router.get("/readyz", async (_req, res) => {
    const results = await Promise.all(
      deps.readiness.map(async (r) => {
        try {
          await withTimeout(r.check(), 2000);
          return { name: r.name, ok: true as const };
        } catch (err) {
          return { name: r.name, ok: false as const, error: (err as Error).message };
        }
      }),
    );
    const ready = results.every((r) => r.ok);
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "unavailable", checks: results });
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

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
