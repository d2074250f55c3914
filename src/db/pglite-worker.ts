import { parentPort, workerData } from "node:worker_threads";
import type { PGlite } from "@electric-sql/pglite";
import type { PgliteStatements } from "./pglite-statements.js";
import { serializeError, type PgliteWorkerData, type WorkerMessage, type WorkerRequest } from "./pglite-worker-protocol.js";

/**
 * The embedded database's thread (started by pglite-worker-client.ts): PGlite runs here, so a
 * long statement blocks this thread, never the one answering HTTP. Requests are handled one
 * after another in arrival order — the client sends a transaction's statements in order on its
 * single session, and `close` comes after every statement sent before it.
 */
const port = parentPort;
if (!port) throw new Error("pglite-worker.ts runs as a worker thread (see pglite-worker-client.ts)");

const post = (message: WorkerMessage) => port.postMessage(message);
const { dir } = workerData as PgliteWorkerData;
const unlisten = new Map<string, () => Promise<void>>();
let pglite: PGlite;
let statements: PgliteStatements;
let chain: Promise<void> = Promise.resolve();

async function handle(request: WorkerRequest): Promise<WorkerMessage> {
  switch (request.type) {
    case "query": {
      const result = await statements.run(request.sql, request.params, request.begin);
      return { type: "result", id: request.id, rows: result.rows, affectedRows: result.affectedRows };
    }
    case "listen":
      if (!unlisten.has(request.channel)) {
        const channel = request.channel;
        unlisten.set(channel, await pglite.listen(channel, (payload) => post({ type: "notification", channel, payload })));
      }
      return { type: "done", id: request.id };
    case "unlisten":
      await unlisten.get(request.channel)?.();
      unlisten.delete(request.channel);
      return { type: "done", id: request.id };
    case "close":
      await pglite.close();
      return { type: "done", id: request.id };
  }
}

try {
  const [{ PGlite }, { PgliteStatements }] = await Promise.all([import("@electric-sql/pglite"), import("./pglite-statements.js")]);
  pglite = dir ? new PGlite(dir) : new PGlite();
  await pglite.waitReady;
  statements = new PgliteStatements(pglite);
  port.on("message", (request: WorkerRequest) => {
    chain = chain.then(async () => {
      const answer = await handle(request).catch((err: unknown): WorkerMessage => ({ type: "error", id: request.id, error: serializeError(err) }));
      try {
        post(answer);
      } catch (err) {
        // A value structured clone cannot carry: the request still gets its answer.
        post({ type: "error", id: request.id, error: serializeError(err) });
      }
    });
  });
  post({ type: "ready" });
} catch (err) {
  post({ type: "start-failed", error: serializeError(err) });
}
