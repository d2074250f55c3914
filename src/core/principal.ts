export const SCOPES = ["read", "publish", "deploy", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling, as resolved from a bearer token. Never holds the secret. */
export interface Principal {
  tokenId: string;
  name: string;
  scopes: ReadonlySet<Scope>;
  /** "*" for every project. */
  projects: "*" | ReadonlySet<string>;
  /** When set, the token sees (and deploys to) only these environments. */
  environments?: ReadonlySet<string>;
}

/**
 * `admin` implies everything; every other scope implies `read` (a pipeline that publishes
 * must be able to check what is already there).
 */
export function hasScope(principal: Principal, needed: Scope): boolean {
  if (principal.scopes.has("admin")) return true;
  if (needed === "read") return principal.scopes.size > 0;
  return principal.scopes.has(needed);
}

export function canSeeProject(principal: Principal, project: string): boolean {
  return principal.projects === "*" || principal.projects.has(project);
}

export function canSeeEnvironment(principal: Principal, environment: string): boolean {
  return principal.scopes.has("admin") || !principal.environments || principal.environments.has(environment);
}
