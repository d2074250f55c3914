import { MemoryProjectStore } from "../../src/projects/memory-store.js";
import { KyselyProjectStore } from "../../src/projects/store.js";
import { KyselyDeliveryQueue } from "../../src/webhooks/delivery-store.js";
import { MemoryWebhookStore } from "../../src/webhooks/memory-store.js";
import { KyselyWebhookStore } from "../../src/webhooks/store.js";
import { webhookStoreContract, type WebhookStores } from "../contract/webhook-store.js";
import { storeBackends } from "../support/store-backends.js";

for (const backend of storeBackends<WebhookStores>({
  kysely: (db) => ({ projects: new KyselyProjectStore(db), webhooks: new KyselyWebhookStore(db), queue: new KyselyDeliveryQueue(db) }),
  memory: (tables) => {
    const webhooks = new MemoryWebhookStore(tables);
    return { projects: new MemoryProjectStore(tables), webhooks, queue: webhooks };
  },
})) {
  webhookStoreContract(backend);
}
