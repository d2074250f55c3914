import { MemoryArtifactStore } from "../../src/artifacts/memory-store.js";
import type { ArtifactOutbox } from "../../src/artifacts/ports.js";
import { ArtifactCatalog } from "../../src/artifacts/catalog.js";
import { ArtifactService } from "../../src/artifacts/service.js";
import { MemoryAuditStore } from "../../src/audit/memory-store.js";
import { MemoryBlobLinkStore } from "../../src/blobs/memory-link-store.js";
import { MemoryBlobStore } from "../../src/blobs/memory.js";
import { BlobService } from "../../src/blobs/service.js";
import type { Actor } from "../../src/core/actor.js";
import { MemoryTables } from "../../src/core/memory-tables.js";
import type { Tx } from "../../src/core/transaction.js";
import { MemoryProjectStore } from "../../src/projects/memory-store.js";
import { ProjectService } from "../../src/projects/service.js";
import { MemoryVersionSetStore } from "../../src/version-sets/memory-store.js";
import { VersionSetService } from "../../src/version-sets/service.js";

export const actor: Actor = { name: "ci", tokenId: "tok_ci", traceId: "trace-1", clientAddress: null };

export interface RecordedEvent {
  project: string;
  event: string;
  data: unknown;
}

/**
 * The webhook outbox as a memory table, so its rows roll back with the transaction that wrote
 * them like the SQL outbox's; `failWith` makes the next enqueue throw (a failing step).
 */
export class MemoryOutbox implements ArtifactOutbox {
  failWith: Error | undefined;
  constructor(private readonly tables: MemoryTables) {}

  async enqueue(_tx: Tx, event: { project: string; event: string; data: unknown }): Promise<number> {
    if (this.failWith) throw this.failWith;
    this.tables.table<RecordedEvent[]>("webhook_outbox", () => []).push(JSON.parse(JSON.stringify(event)) as RecordedEvent);
    return 1;
  }

  events(): RecordedEvent[] {
    return this.tables.table<RecordedEvent[]>("webhook_outbox", () => []).map((e) => ({ ...e }));
  }
}

/** Artifacts, blobs and version sets over the memory fakes, sharing one MemoryTables like the app shares one database. */
export function publishServices(options: { maxBlobBytes?: number } = {}) {
  const tables = new MemoryTables();
  const audit = new MemoryAuditStore(tables);
  const projects = new ProjectService({ store: new MemoryProjectStore(tables), audit, transactions: tables });
  const artifactStore = new MemoryArtifactStore(tables);
  const links = new MemoryBlobLinkStore(tables);
  const bytes = new MemoryBlobStore();
  const outbox = new MemoryOutbox(tables);
  const blobs = new BlobService({
    store: bytes,
    links,
    projects,
    audit,
    transactions: tables,
    retired: artifactStore,
    maxBlobBytes: options.maxBlobBytes ?? 1024 * 1024,
  });
  const artifacts = new ArtifactService({
    store: artifactStore,
    projects,
    blobs: links,
    audit,
    outbox,
    transactions: tables,
    schemas: { limitErrors: () => [], compile: async () => [] },
    writeBudgetMs: 5_000,
    reviveBlobs: (digests) => blobs.revive(digests),
  });
  const versionSetStore = new MemoryVersionSetStore(tables);
  const versionSets = new VersionSetService({ store: versionSetStore, artifacts: artifactStore, projects, audit, outbox, transactions: tables });
  const catalog = new ArtifactCatalog({ store: artifactStore, projects });
  return { tables, audit, projects, artifactStore, links, bytes, outbox, blobs, artifacts, versionSetStore, versionSets, catalog };
}

export async function* bytesOf(text: string): AsyncIterable<Uint8Array> {
  yield Buffer.from(text);
}
