import type { Principal } from "../core/principal.js";

/**
 * What the HTTP layer needs from the token domain: the cached answer for a bearer secret, and
 * the looked-up one. auth/token-resolver.ts implements it; http/ names only this interface so
 * the middleware never depends on a domain folder.
 */
export interface TokenLookup {
  /** Synchronously from the cache: the principal, null for a token known to be bad, undefined when only `resolve` can tell. */
  peek(secret: string): Principal | null | undefined;
  resolve(secret: string): Promise<Principal | null>;
}
