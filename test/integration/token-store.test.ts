import { MemoryTokenStore } from "../../src/auth/memory-store.js";
import type { TokenStore } from "../../src/auth/ports.js";
import { KyselyTokenStore } from "../../src/auth/token-store.js";
import { tokenStoreContract } from "../contract/token-store.js";
import { storeBackends } from "../support/store-backends.js";

for (const backend of storeBackends<{ tokens: TokenStore }>({
  kysely: (db) => ({ tokens: new KyselyTokenStore(db) }),
  memory: (tables) => ({ tokens: new MemoryTokenStore(tables) }),
})) {
  tokenStoreContract(backend);
}
