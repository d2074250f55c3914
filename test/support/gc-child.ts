/**
 * A process that runs one garbage collection and stops dead at a chosen step, for the kill -9
 * test: `node --import tsx test/support/gc-child.ts <database-url> <blob-dir> <step> <occurrence>`.
 * It prints "HALTED <step>" when it reaches the step for the given time, then waits forever
 * (with the step's transaction open, when the step is inside one) until the test kills it.
 */
import { KyselyAuditStore } from "../../src/audit/store.js";
import { FsBlobStore } from "../../src/blobs/fs.js";
import { connectPostgres } from "../../src/db/connect.js";
import { KyselyTransactions } from "../../src/db/transactions.js";
import { KyselyCollectionStore } from "../../src/gc/collection-store.js";
import type { GcStep } from "../../src/gc/collector.js";
import { GcService } from "../../src/gc/service.js";
import { KyselyGcStore } from "../../src/gc/store.js";
import { KyselyWebhookStore } from "../../src/webhooks/store.js";
import { createLogger } from "../../src/logger.js";
import { ProjectService } from "../../src/projects/service.js";
import { KyselyProjectStore } from "../../src/projects/store.js";

const [url, blobDir, step, occurrence] = process.argv.slice(2);
if (!url || !blobDir || !step || !occurrence) throw new Error("usage: gc-child <database-url> <blob-dir> <step> <occurrence>");
const handle = connectPostgres({ url, max: 2 });
let seen = 0;
const gc = new GcService({
  store: new KyselyGcStore(handle.db),
  projects: new ProjectService({ store: new KyselyProjectStore(handle.db), audit: new KyselyAuditStore(handle.db), transactions: new KyselyTransactions(handle.db) }),
  audit: new KyselyAuditStore(handle.db),
  transactions: new KyselyTransactions(handle.db),
  collection: { store: new KyselyCollectionStore(handle.db), transactions: new KyselyTransactions(handle.db), webhooks: new KyselyWebhookStore(handle.db) },
  blobStore: new FsBlobStore(blobDir),
  logger: createLogger({ level: "warn" }),
  options: { batchSize: 2 },
  hook: async (at: GcStep) => {
    if (at !== step || ++seen !== Number(occurrence)) return;
    process.stdout.write(`HALTED ${at}\n`);
    await new Promise(() => {});
  },
});
await gc.run({ dryRun: false, trigger: "api", actor: { name: "gc-child", tokenId: null, traceId: "gc-child", clientAddress: null } });
process.stdout.write("FINISHED\n");
await handle.close();
