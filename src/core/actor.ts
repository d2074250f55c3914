/** What services need to know about the caller: who, for audit rows and history entries. */
export interface Actor {
  /** Readable name written to history and audit (`<token name>`). */
  name: string;
  tokenId: string | null;
  traceId: string;
  clientAddress: string | null;
}
