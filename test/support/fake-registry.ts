/**
 * An in-memory stand-in for the registry's `resolve` and `watch`, behind a fake `fetch`, for the
 * resolver's unit tests: deploys push SSE frames to open streams, and each failure mode a
 * resolver must ride out (refused connections, 404/500 on watch, silent or cut streams) is a
 * switch.
 */
export interface RecordedRequest {
  kind: "resolve" | "watch";
  url: URL;
  headers: Record<string, string>;
}

type WatchMode = "sse" | "silent" | number;

export class FakeRegistry {
  active = "vs_a";
  revision = 1;
  /** Per subject, which set it gets (a rollout); absent subjects get `active`. */
  assignments = new Map<string, { set: string; assignment: "stable" | "candidate" }>();
  down = false;
  watchMode: WatchMode = "sse";
  resolveStatus: number | undefined;
  stale = false;
  readonly requests: RecordedRequest[] = [];
  private readonly streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  private readonly encoder = new TextEncoder();

  bundle(id: string) {
    return { id, components: { cfg: { kind: "config", name: "app", version: 1, digest: "sha256:00", content: { values: { set: id } } } }, code: null, summary: {}, created_at: "2026-01-01T00:00:00.000Z" };
  }

  count(kind: RecordedRequest["kind"]): number {
    return this.requests.filter((r) => r.kind === kind).length;
  }

  last(kind: RecordedRequest["kind"]): RecordedRequest | undefined {
    return this.requests.filter((r) => r.kind === kind).at(-1);
  }

  /** A change: bumps the revision and pushes the state event to every open stream. */
  deploy(set: string): void {
    this.active = set;
    this.revision++;
    this.broadcast();
  }

  broadcast(): void {
    for (const stream of this.streams) stream.enqueue(this.frame());
  }

  /** Ends every open stream with a network error (a cut connection). */
  cut(): void {
    for (const stream of this.streams) stream.error(new TypeError("terminated"));
    this.streams.clear();
  }

  get openStreams(): number {
    return this.streams.size;
  }

  private frame(): Uint8Array {
    return this.encoder.encode(`id: ${this.revision}\nevent: state\ndata: ${JSON.stringify({ name: "prod", active: this.active, revision: this.revision })}\n\n`);
  }

  readonly fetch = async (input: string, init: RequestInit): Promise<Response> => {
    const url = new URL(input);
    const headers = Object.fromEntries(Object.entries((init.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
    const kind = url.pathname.endsWith("/watch") ? "watch" : "resolve";
    this.requests.push({ kind, url, headers });
    init.signal?.throwIfAborted();
    if (this.down) throw new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
    return kind === "resolve" ? this.resolve(url, headers) : this.watch(init.signal ?? undefined);
  };

  private resolve(url: URL, headers: Record<string, string>): Response {
    if (this.resolveStatus !== undefined) {
      return Response.json({ status: this.resolveStatus, code: this.resolveStatus === 401 ? "unauthorized" : "unavailable", detail: "fake says no" }, { status: this.resolveStatus });
    }
    const subject = url.searchParams.get("subject");
    const assigned = subject !== null ? this.assignments.get(subject) : undefined;
    const set = assigned?.set ?? this.active;
    const etag = `"${set}"`;
    const common: Record<string, string> = { etag, "x-pinset-version-set": set };
    if (assigned) common["x-pinset-assignment"] = assigned.assignment;
    if (this.stale) common["x-pinset-stale"] = "true";
    if (headers["if-none-match"] === etag) return new Response(null, { status: 304, headers: common });
    return new Response(JSON.stringify(this.bundle(set)), { status: 200, headers: { ...common, "content-type": "application/json" } });
  }

  private watch(signal: AbortSignal | undefined): Response {
    if (typeof this.watchMode === "number") return Response.json({ status: this.watchMode, code: "nope", detail: "fake watch" }, { status: this.watchMode });
    const silent = this.watchMode === "silent";
    let controller: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
        this.streams.add(c);
        if (!silent) c.enqueue(this.frame());
      },
      cancel: () => {
        this.streams.delete(controller);
      },
    });
    signal?.addEventListener("abort", () => {
      if (this.streams.delete(controller)) controller.error(signal.reason);
    });
    const headers: Record<string, string> = { "content-type": "text/event-stream" };
    if (this.stale) headers["x-pinset-stale"] = "true";
    return new Response(body, { status: 200, headers });
  }
}
