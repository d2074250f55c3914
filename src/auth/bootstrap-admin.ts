import { chmod, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { generateTokenSecret, hashTokenSecret } from "./secrets.js";

export const BOOTSTRAP_TOKEN_ID = "tok_bootstrap_admin";

export type BootstrapResult =
  | { source: "environment" }
  | { source: "generated"; secret: string; file: string }
  | { source: "existing"; file: string };

/**
 * Makes sure an admin token exists. PINSET_ADMIN_TOKEN, when set, is (re)stored as the
 * bootstrap token's hash, so changing the variable rotates it. Otherwise a token is generated
 * once — by whichever instance wins the insert — printed by the caller, and written to
 * `<dataDir>/admin-token` with mode 0600.
 */
export async function ensureAdminToken(options: {
  db: Kysely<Database>;
  adminToken?: string;
  dataDir: string;
}): Promise<BootstrapResult> {
  const { db } = options;
  const file = path.join(options.dataDir, "admin-token");
  if (options.adminToken) {
    await db
      .insertInto("tokens")
      .values({
        id: BOOTSTRAP_TOKEN_ID,
        name: "admin (PINSET_ADMIN_TOKEN)",
        secret_hash: hashTokenSecret(options.adminToken),
        scopes: ["admin"],
        projects: ["*"],
        environments: null,
        created_by: "bootstrap",
      })
      .onConflict((oc) =>
        oc.column("id").doUpdateSet({ secret_hash: hashTokenSecret(options.adminToken!), revoked_at: null, name: "admin (PINSET_ADMIN_TOKEN)" }),
      )
      .execute();
    return { source: "environment" };
  }
  const secret = generateTokenSecret();
  const inserted = await db
    .insertInto("tokens")
    .values({
      id: BOOTSTRAP_TOKEN_ID,
      name: "admin (generated)",
      secret_hash: hashTokenSecret(secret),
      scopes: ["admin"],
      projects: ["*"],
      environments: null,
      created_by: "bootstrap",
    })
    .onConflict((oc) => oc.column("id").doNothing())
    .returning("id")
    .executeTakeFirst();
  if (!inserted) return { source: "existing", file };
  await mkdir(options.dataDir, { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { source: "generated", secret, file };
}
