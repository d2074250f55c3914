import { expect } from "vitest";
import type { TestApp } from "./test-app.js";

export interface CreatedToken {
  id: string;
  token: string;
}

/** Creates a token with the admin token; fails the test unless the server answers 201. */
export async function createToken(
  t: TestApp,
  body: { name?: string; scopes: string[]; projects: string[]; environments?: string[]; expires_at?: string },
): Promise<CreatedToken> {
  const res = await t.request("POST", "/v1/tokens", { body: { name: body.name ?? `test ${body.scopes.join("+")}`, ...body } });
  const json = (await res.json()) as CreatedToken;
  expect(res.status, JSON.stringify(json)).toBe(201);
  return json;
}

