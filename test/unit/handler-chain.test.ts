import type { Request, RequestHandler, Response } from "express";
import { describe, expect, it } from "vitest";
import { NotFoundError } from "../../src/core/errors.js";
import { runHandlers } from "../../src/http/handler-chain.js";

const req = { method: "GET", path: "/v1/x" } as Request;
const res = {} as Response;

function run(handlers: RequestHandler[]): Promise<{ ran: string[]; failures: unknown[] }> {
  const ran: string[] = [];
  const failures: unknown[] = [];
  const named = handlers.map((h, i): RequestHandler => (rq, rs, next) => {
    ran.push(`h${i}`);
    return h(rq, rs, next);
  });
  runHandlers(named, req, res, (err) => failures.push(err));
  return new Promise((resolve) => setTimeout(() => resolve({ ran, failures }), 10));
}

describe("runHandlers (a direct route's chain, as express' router runs a route)", () => {
  it("runs each handler on next() and stops at the one that answers", async () => {
    const { ran, failures } = await run([(_q, _s, next) => next(), () => undefined, () => undefined]);
    expect(ran).toEqual(["h0", "h1"]);
    expect(failures).toEqual([]);
  });

  it("sends a thrown error, a rejected promise and next(err) to the error handler, once", async () => {
    const boom = new Error("boom");
    expect((await run([() => { throw boom; }])).failures).toEqual([boom]);
    expect((await run([async () => { throw boom; }])).failures).toEqual([boom]);
    expect((await run([(_q, _s, next) => next(boom)])).failures).toEqual([boom]);
    // A handler that both calls next(err) and then throws is reported once.
    expect((await run([(_q, _s, next) => { next(boom); throw new Error("again"); }])).failures).toEqual([boom]);
  });

  it("answers a rejection without a reason with an error, as express does", async () => {
    const { failures } = await run([() => Promise.reject(undefined)]);
    expect(failures).toHaveLength(1);
    expect((failures[0] as Error).message).toBe("Rejected promise");
  });

  it("answers 404 when the chain runs out or leaves the route, as the router's not-found handler would", async () => {
    for (const last of [(_q: Request, _s: Response, next: (e?: unknown) => void) => next(), (_q: Request, _s: Response, next: (e?: unknown) => void) => next("route")]) {
      const { failures } = await run([last as RequestHandler]);
      expect(failures).toHaveLength(1);
      expect(failures[0]).toBeInstanceOf(NotFoundError);
      expect((failures[0] as Error).message).toBe("No route for GET /v1/x");
    }
  });
});
