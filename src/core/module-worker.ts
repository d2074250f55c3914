import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * Starts a worker thread running the module at `moduleUrl`, built by the caller relative to its
 * own `import.meta.url` with the caller's extension, so one line serves both ways the server
 * runs: compiled (`node dist/main.js`: a `.js` module, started directly) and from source
 * (`tsx src/main.ts`, vitest: a `.ts` module, which a plain worker cannot load — Node gives
 * workers no loader hooks of their parent). From source the worker first loads tsx's ESM API
 * and imports the module through it; tsx is a development dependency, installed wherever the
 * sources run (`npm install`), and never needed by the compiled server.
 */
export function startModuleWorker(moduleUrl: URL, given: WorkerOptions = {}): Worker {
  // A worker inherits the process's node options; those about how the main script is read
  // (`node --input-type=module -e …`) make a worker from a file fail to start.
  const execArgv = process.execArgv.filter((arg) => !/^--(input-type|eval|print)\b|^-[ep]$/.test(arg));
  const options: WorkerOptions = { execArgv, ...given };
  if (!moduleUrl.pathname.endsWith(".ts")) return new Worker(moduleUrl, options);
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => tsx.tsImport(${JSON.stringify(moduleUrl.href)}, ${JSON.stringify(moduleUrl.href)}));`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** `./<name>.ts` or `./<name>.js` next to the module whose `import.meta.url` is `base`: whichever it is itself. */
export function siblingModule(base: string, name: string): URL {
  const extension = base.endsWith(".ts") ? ".ts" : ".js";
  return new URL(`./${name}${extension}`, base);
}
