import type { Request, Response } from "express";
import type { Principal } from "../core/principal.js";
import type { Actor } from "../core/actor.js";
import type { Logger } from "../logger.js";

/** Per-request state, kept in `res.locals` so nothing is patched onto express' types. */
export interface RequestState {
  readonly traceId: string;
  /** The root logger bound to the trace id, built when first used. */
  readonly log: Logger;
  principal?: Principal;
  /**
   * Set by the hottest read paths (a resolve answered from memory): the request line is logged
   * at `debug` instead of `info`. Errors keep their `warn`/`error` line.
   */
  quiet?: boolean;
  /** The matched route's template (`/v1/projects/:project/…`), noted while routing: the metrics label. */
  route?: string;
}

export function stateOf(res: Response): RequestState {
  return res.locals as RequestState;
}

export function principalOf(res: Response): Principal {
  const principal = stateOf(res).principal;
  if (!principal) throw new Error("route mounted without authentication");
  return principal;
}

export function actorOf(req: Request, res: Response): Actor {
  const state = stateOf(res);
  return {
    name: state.principal?.name ?? "anonymous",
    tokenId: state.principal?.tokenId ?? null,
    traceId: state.traceId,
    clientAddress: req.socket.remoteAddress ?? null,
  };
}
