import { existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "../../test/support/spawn-server.js";
import type { Row } from "./table.js";

/**
 * Benches other parts of the registry keep in their own scripts, run as extra rows when the
 * script exists: `bench-publish.ts` (runPublishBench: `pinset publish index` vs sequential
 * PUTs) and `bench-resolve-subject.ts` (runResolveSubjectBench: resolve with a rollout subject
 * vs without). Loaded by path so the main bench runs whether or not they exist.
 */
type Module = Record<string, unknown>;

async function load(file: string): Promise<Module | undefined> {
  const full = path.join(REPO_ROOT, "scripts", file);
  if (!existsSync(full)) return undefined;
  return (await import(pathToFileURL(full).href)) as Module;
}

const fmt = (v: unknown): string => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : JSON.stringify(v));

export async function extraRows(
  part: "publish" | "subject",
  context: { quick: boolean; publish: { mib: number; files: number }; log(line: string): void; results: Record<string, unknown> },
): Promise<Row[]> {
  if (part === "publish") {
    const mod = await load("bench-publish.ts");
    const run = mod?.runPublishBench as ((o: { mib: number; files: number }) => Promise<{ files: number; bytes: number; cliMBps: number; baselineMBps: number; ratio: number }>) | undefined;
    if (!run) return [{ measure: "pinset publish index", pinset: "not run: scripts/bench-publish.ts has no runPublishBench", baseline: "", target: "" }];
    context.log(`publish index: ${context.publish.files} files, ${context.publish.mib} MiB`);
    const r = await run(context.publish);
    context.results.publish = r;
    return [
      {
        measure: `pinset publish index (${r.files} files, ${(r.bytes / 2 ** 20).toFixed(0)} MiB)`,
        pinset: `${r.cliMBps.toFixed(0)} MB/s`,
        baseline: `sequential PUT /blobs: ${r.baselineMBps.toFixed(0)} MB/s`,
        target: "ratio ≥ 0.70",
        pass: r.ratio >= 0.7,
      },
    ];
  }
  const mod = await load("bench-resolve-subject.ts");
  const run = mod?.runResolveSubjectBench as ((o: { quick: boolean }) => Promise<ResolveSubjectResult>) | undefined;
  if (!run) return [{ measure: "resolve with a rollout subject", pinset: "not run: scripts/bench-resolve-subject.ts has no runResolveSubjectBench", baseline: "", target: "" }];
  context.log("resolve with a subject during a 10 % rollout (in-process registry on PGlite)");
  const r = await run({ quick: context.quick });
  context.results.subject = r;
  return [
    {
      // Both sides are fast-lane answers: `?subject=` alone is answered from memory too (docs/performance.md).
      measure: "resolve?subject= during a 10 % rollout (in-process, PGlite, 10 connections; fast lane)",
      pinset: `${r.withSubjectRps.toFixed(0)} req/s, p99 ${fmt(r.withSubjectP99Ms)} ms`,
      baseline: `resolve without subject (fast lane): ${r.withoutSubjectRps.toFixed(0)} req/s, p99 ${fmt(r.withoutSubjectP99Ms)} ms (ratio ${r.ratio.toFixed(2)})`,
      target: "ratio ≥ 0.70",
      pass: r.ratio >= 0.7,
    },
  ];
}

interface ResolveSubjectResult {
  withoutSubjectRps: number;
  withoutSubjectP99Ms: number;
  withSubjectRps: number;
  withSubjectP99Ms: number;
  ratio: number;
}
