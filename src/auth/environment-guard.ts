import { ForbiddenError } from "../core/errors.js";
import type { Principal } from "../core/principal.js";

/**
 * Protected environments (production) accept deploys, rollbacks and rollout changes only from
 * `admin` or from a `deploy` token that names the environment in its `environments` list: a
 * pipeline's all-environments deploy token can reach staging but never production by accident.
 *
 * The route's scope check has already run (a `deploy` route, and visibility → 404), so this only
 * adds the rule for `protected: true`. Call it in the service after loading the environment
 * and before changing anything — inside the transaction that holds the row lock, so a
 * concurrent `PUT …/environments/{env} {"protected": true}` cannot slip between check and write.
 */
export function requireDeployAccess(principal: Principal, env: { name: string; protected: boolean }): void {
  if (!env.protected) return;
  if (principal.scopes.has("admin")) return;
  if (principal.scopes.has("deploy") && principal.environments?.has(env.name)) return;
  throw new ForbiddenError(
    `Environment ${env.name} is protected: it needs an admin token or a deploy token whose environments name ${env.name}`,
  );
}
