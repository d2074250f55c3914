import { KyselyBlobLinkStore } from "../../src/blobs/link-store.js";
import { MemoryBlobLinkStore } from "../../src/blobs/memory-link-store.js";
import { MemoryProjectStore } from "../../src/projects/memory-store.js";
import { KyselyProjectStore } from "../../src/projects/store.js";
import { blobLinkStoreContract, type BlobLinkContractStores } from "../contract/blob-link-store.js";
import { storeBackends } from "../support/store-backends.js";

for (const backend of storeBackends<BlobLinkContractStores>({
  kysely: (db) => ({
    links: new KyselyBlobLinkStore(db),
    projects: new KyselyProjectStore(db),
    async claim(digest) {
      await db.updateTable("blobs").set({ gc_claimed_at: new Date() }).where("digest", "=", digest).execute();
    },
  }),
  memory: (tables) => {
    const links = new MemoryBlobLinkStore(tables);
    return { links, projects: new MemoryProjectStore(tables), claim: async (digest) => links.markClaimed(digest) };
  },
})) {
  blobLinkStoreContract(backend);
}
