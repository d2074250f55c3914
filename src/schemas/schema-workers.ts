import type { SchemaReference } from "../artifacts/kinds/types.js";
import { AppError, type FieldError } from "../core/errors.js";
import type { Logger } from "../logger.js";
import { diffComponentContent, type ArtifactKind, type ContentDiffOptions } from "../version-sets/diff/index.js";
import { fallbackSchemaDiff } from "./fallback-diff.js";
import { checkSchemaLimits } from "./limits.js";
import type { SchemaJobOutcome } from "./metrics.js";
import { DEFAULT_SCHEMA_SETTINGS, type SchemaSettings } from "./settings.js";
import type { SchemaJob } from "./schema-worker.js";
import { siblingModule, startModuleWorker } from "../core/module-worker.js";
import { PoolBusyError, PoolCrashError, PoolTimeoutError, WorkerPool } from "./worker-pool.js";

/** The kinds whose differ walks JSON Schemas: they run in a worker too. */
const SCHEMA_KINDS: ReadonlySet<ArtifactKind> = new Set(["contract", "tools"]);

function outcomeOf(err: unknown): SchemaJobOutcome {
  if (err instanceof PoolTimeoutError) return "timeout";
  if (err instanceof PoolCrashError && err.outOfMemory) return "out_of_memory";
  if (err instanceof PoolBusyError) return "busy";
  return "failed";
}

function busy(detail: string): AppError {
  return new AppError({ code: "unavailable", status: 503, title: "Service unavailable", detail, headers: { "retry-after": "1" } });
}

/**
 * Everything the registry does with JSON Schemas that can cost more than a few milliseconds,
 * kept off the event loop: limits are checked inline (one bounded pass), compiling and
 * comparing run in a pool of worker threads with a time budget. A background task of the app:
 * start() loads the workers ahead of the first publish, stop() terminates them.
 */
export class SchemaWorkers {
  readonly settings: SchemaSettings;
  private readonly pool: WorkerPool<SchemaJob, unknown>;

  /** `onOutcome` is told every job's outcome (metrics.ts). */
  constructor(
    settings: Partial<SchemaSettings>,
    logger: Logger,
    private readonly onOutcome: (job: "compile" | "diff", outcome: SchemaJobOutcome) => void = () => {},
  ) {
    this.settings = { ...DEFAULT_SCHEMA_SETTINGS, ...settings };
    const log = logger.child({ module: "schemas" });
    const script = siblingModule(import.meta.url, "schema-worker");
    this.pool = new WorkerPool<SchemaJob, unknown>({
      size: Math.max(1, this.settings.workers),
      maxQueue: this.settings.maxQueue,
      timeoutMs: this.settings.timeoutMs,
      // A hostile schema may also exhaust memory: the worker dies alone, not the process.
      spawn: () => startModuleWorker(script, { resourceLimits: { maxOldGenerationSizeMb: 512, stackSizeMb: 8 } }),
      onWorkerLost: (reason, detail) => log.warn({ reason, detail }, "schema worker stopped; a new one starts with the next job"),
    });
  }

  start(): void {
    this.pool.warm();
  }

  async stop(): Promise<void> {
    await this.pool.close();
  }

  /** Workers alive, jobs running and waiting (tests, diagnostics). */
  stats(): { workers: number; running: number; queued: number } {
    return this.pool.stats();
  }

  /** The first limit each schema crosses (inline, bounded work). */
  limitErrors(refs: readonly SchemaReference[]): FieldError[] {
    return refs.flatMap((ref) => checkSchemaLimits(ref.schema, ref.path, this.settings) ?? []);
  }

  /**
   * Compiles every schema in a worker; resolves with the compile errors, one "too complex"
   * error when the budget ran out (naming the schema being compiled then). Throws 503 with
   * retry-after when the queue is full or the worker failed.
   */
  async compile(refs: readonly SchemaReference[]): Promise<FieldError[]> {
    if (refs.length === 0) return [];
    try {
      const errors = (await this.pool.run({ type: "compile", schemas: [...refs] })) as FieldError[];
      this.onOutcome("compile", "ok");
      return errors;
    } catch (err) {
      this.onOutcome("compile", outcomeOf(err));
      const at = (step: number | undefined) => refs[step ?? 0]?.path ?? refs[0]!.path;
      if (err instanceof PoolTimeoutError) return [{ path: at(err.lastStep), message: `schema too complex to compile within ${err.timeoutMs} ms` }];
      if (err instanceof PoolCrashError && err.outOfMemory) return [{ path: at(err.lastStep), message: "schema too complex to compile: the compiler ran out of memory" }];
      if (err instanceof PoolBusyError) throw busy(`Too many schemas are waiting to be compiled (${this.settings.maxQueue}); nothing was stored, retry`);
      throw busy(`The schema compiler failed (${(err as Error).message}); nothing was stored, retry`);
    }
  }

  /**
   * A changed slot's detail (ContentDiffer): contracts and tools are compared in a worker; a
   * comparison over budget reports the schema as changed and unclassified (breaking) instead.
   */
  readonly diff = async (kind: ArtifactKind, from: unknown, to: unknown, options: ContentDiffOptions): Promise<unknown> => {
    if (!SCHEMA_KINDS.has(kind)) return diffComponentContent(kind, from, to, options);
    try {
      const detail = await this.pool.run({ type: "diff", kind, from, to, options });
      this.onOutcome("diff", "ok");
      return detail;
    } catch (err) {
      this.onOutcome("diff", outcomeOf(err));
      if (err instanceof PoolTimeoutError) return fallbackSchemaDiff(kind, from, to, `too complex to compare within ${err.timeoutMs} ms`);
      if (err instanceof PoolCrashError && err.outOfMemory) return fallbackSchemaDiff(kind, from, to, "too complex to compare: the comparison ran out of memory");
      if (err instanceof PoolBusyError) throw busy(`Too many schema comparisons are waiting (${this.settings.maxQueue}); retry`);
      throw busy(`The schema comparison failed (${(err as Error).message}); retry`);
    }
  };
}
