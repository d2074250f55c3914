import { MemoryBlobStore } from "../../src/blobs/memory.js";
import { blobStoreContract } from "../contract/blob-store.js";

blobStoreContract("memory", async () => ({ store: new MemoryBlobStore(), close: async () => {} }));
