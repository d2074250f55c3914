import { randomFillSync } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Logger } from "../logger.js";
import type { Principal } from "../core/principal.js";
import type { RequestState } from "./context.js";

/** A client's trace id is kept only when it is safe to echo in a header and a log line. */
const CLIENT_TRACE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const ID_BYTES = 16;
/** Ids drawn per refill: one call into the CSPRNG per 256 requests instead of one per request. */
const POOL_IDS = 256;

/**
 * Generated trace ids: 32 lowercase hex digits, 128 random bits each (as unguessable and as
 * unique as before), taken from a pool filled by one `randomFillSync` call per 256 ids.
 */
export type TraceIds = () => string;

export function traceIdGenerator(): TraceIds {
  const pool = Buffer.allocUnsafe(ID_BYTES * POOL_IDS);
  let offset = pool.length;
  return () => {
    if (offset === pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    const id = pool.toString("hex", offset, offset + ID_BYTES);
    offset += ID_BYTES;
    return id;
  };
}

/**
 * `res.locals` of every request. The request's child logger (bound to the trace id) is built
 * on first use only: most requests never log anything but their request line.
 */
export class RequestLocals implements RequestState {
  principal?: Principal;
  quiet?: boolean;
  private child: Logger | undefined;

  constructor(
    readonly traceId: string,
    private readonly root: Logger,
  ) {}

  get log(): Logger {
    return (this.child ??= this.root.child({ trace_id: this.traceId }));
  }
}

/** The client's `x-trace-id` when it is safe to echo in a header and a log line, else undefined. */
export function acceptedTraceId(req: Pick<IncomingMessage, "headers">): string | undefined {
  const given = req.headers["x-trace-id"];
  return typeof given === "string" && CLIENT_TRACE_ID.test(given) ? given : undefined;
}
