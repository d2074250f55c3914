import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Schemas } from "./api.js";

export type Self = Schemas["TokenSelf"];

export const SelfContext = createContext<Self | undefined>(undefined);

export function useSelf(): Self {
  const self = useContext(SelfContext);
  if (!self) throw new Error("useSelf outside the signed-in app");
  return self;
}

const has = (self: Self, scope: Self["scopes"][number]) => self.scopes.includes("admin") || self.scopes.includes(scope);

/**
 * What the token may do in an environment, as the server decides it (auth/principal.ts,
 * environment-guard.ts): deploy scope, and a protected environment needs admin or a token
 * naming it. `undefined`: allowed; else why not (shown next to the disabled control).
 */
export function deployRefusal(self: Self, env: { name: string; protected: boolean }): string | undefined {
  if (!has(self, "deploy")) return "Your token has no deploy scope";
  if (self.scopes.includes("admin")) return undefined;
  if (self.environments && !self.environments.includes(env.name)) return `Your token is not allowed in ${env.name}`;
  if (env.protected && !self.environments?.includes(env.name)) return `${env.name} is protected: only admin tokens or tokens naming it may change it`;
  return undefined;
}

export function adminRefusal(self: Self): string | undefined {
  return self.scopes.includes("admin") ? undefined : "Needs an admin token";
}
