/** An inclusive byte range of a blob, as HTTP `Range: bytes=start-end` names it. */
export interface ByteRange {
  start: number;
  end: number;
}

/** What a request asked for: the whole blob, one satisfiable range, or a range past its end. */
export type RangeRequest = { kind: "none" } | { kind: "range"; range: ByteRange } | { kind: "unsatisfiable" };
