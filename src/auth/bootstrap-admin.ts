import { chmod, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { NewToken, TokenStore } from "./ports.js";
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
  tokens: Pick<TokenStore, "upsertSecret" | "insertIfAbsent">;
  adminToken?: string;
  dataDir: string;
}): Promise<BootstrapResult> {
  const { tokens } = options;
  const file = path.join(options.dataDir, "admin-token");
  const token = (name: string, secret: string): NewToken => ({
    id: BOOTSTRAP_TOKEN_ID,
    name,
    secretHash: hashTokenSecret(secret),
    scopes: ["admin"],
    projects: ["*"],
    environments: null,
    expiresAt: null,
    createdBy: "bootstrap",
  });
  if (options.adminToken) {
    await tokens.upsertSecret(token("admin (PINSET_ADMIN_TOKEN)", options.adminToken));
    return { source: "environment" };
  }
  const secret = generateTokenSecret();
  if (!(await tokens.insertIfAbsent(token("admin (generated)", secret)))) return { source: "existing", file };
  await mkdir(options.dataDir, { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { source: "generated", secret, file };
}
