import { Writable } from "node:stream";
import { pino, type Level } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../../src/logger.js";
import { RequestLines, type RequestLine } from "../../src/http/request-log.js";

function capture(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString("utf8"));
      done();
    },
  });
  return { stream, lines };
}

const base: RequestLine = { traceId: "0123456789abcdef0123456789abcdef", method: "GET", url: "/v1/projects/p/diff?from=a&to=b", remoteAddress: "127.0.0.1", status: 200, ms: 3.4, finished: true };

const cases: Array<[string, Level, RequestLine]> = [
  ["a finished request", "info", base],
  ["a quiet one at debug", "debug", { ...base, status: 304 }],
  ["a client error at warn", "warn", { ...base, status: 404, ms: 0.2 }],
  ["a server error", "error", { ...base, status: 503, ms: 1200.5 }],
  ["an aborted request", "info", { ...base, status: 499, finished: false }],
  ["no client address (a closed socket)", "info", { ...base, remoteAddress: undefined }],
  ["an IPv6 address", "info", { ...base, remoteAddress: "::ffff:10.0.0.1" }],
  ["quotes, backslashes and non-ASCII in the URL", "info", { ...base, url: `/v1/projects/p/artifacts/prompt/a"b\\c/versions?x=é€😀` }],
  ["a URL over 100 characters (pino escapes those another way)", "info", { ...base, url: `/v1/${"x".repeat(150)}?q="${"\\".repeat(3)}` }],
  ["a method an extension defines", "info", { ...base, method: "PROPFIND" }],
];

/** The line pino itself writes for the same request: what RequestLines must reproduce. */
function viaPino(root: ReturnType<typeof createLogger>, level: Level, line: RequestLine): void {
  root.child({}, { redact: [] })[level](
    { trace_id: line.traceId, req: { method: line.method, url: line.url, remote_address: line.remoteAddress }, res: { status: line.status }, responseTime: Math.round(line.ms) },
    !line.finished ? "request aborted" : line.status >= 500 ? "request errored" : "request completed",
  );
}

describe("request lines", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-12-06T12:00:00.123Z"));
  });
  afterEach(() => vi.useRealTimers());

  it.each(cases)("encodes %s exactly as pino would", (_name, level, line) => {
    const ours = capture();
    const theirs = capture();
    const lines = new RequestLines(createLogger({ level: "debug", destination: ours.stream }));
    expect(lines.encodes).toBe(true);
    lines.write(level, line);
    viaPino(createLogger({ level: "debug", destination: theirs.stream }), level, line);
    expect(ours.lines).toHaveLength(1);
    expect(ours.lines[0]).toBe(theirs.lines[0]);
    expect(JSON.parse(ours.lines[0]!)).toMatchObject({ service: "pinset", trace_id: line.traceId, req: { method: line.method, url: line.url }, res: { status: line.status } });
  });

  it("keeps a child logger's bindings and a CRLF line end", () => {
    const ours = capture();
    const theirs = capture();
    const make = (stream: Writable) => pino({ level: "info", crlf: true, base: { service: "s" } }, stream).child({ replica: 2 });
    const lines = new RequestLines(make(ours.stream));
    expect(lines.encodes).toBe(true);
    lines.write("info", base);
    viaPino(make(theirs.stream), "info", base);
    expect(ours.lines[0]).toBe(theirs.lines[0]);
    expect(ours.lines[0]).toMatch(/"replica":2.*\r\n$/);
  });

  it("leaves the line to pino when pino would do more than encode it: a mixin, a log formatter, a message key, a multistream", () => {
    const mixed = capture();
    const withMixin = new RequestLines(pino({ mixin: () => ({ region: "eu" }) }, mixed.stream));
    expect(withMixin.encodes).toBe(false);
    withMixin.write("info", base);
    expect(JSON.parse(mixed.lines[0]!)).toMatchObject({ region: "eu", msg: "request completed", req: { url: base.url } });

    expect(new RequestLines(pino({ formatters: { log: (o) => o } }, capture().stream)).encodes).toBe(false);
    expect(new RequestLines(pino({ messageKey: "message" }, capture().stream)).encodes).toBe(true);

    // A multistream picks each line's streams by its level, which it reads from the logger's call.
    const warnings = capture();
    const everything = capture();
    const multi = new RequestLines(pino({ level: "info" }, pino.multistream([{ level: "warn", stream: warnings.stream }, { level: "info", stream: everything.stream }])));
    expect(multi.encodes).toBe(false);
    multi.write("info", base);
    multi.write("warn", { ...base, status: 404 });
    expect(warnings.lines.map((l) => JSON.parse(l).res.status)).toEqual([404]);
    expect(everything.lines).toHaveLength(2);
  });

  it("writes a custom message key where pino would", () => {
    const ours = capture();
    const theirs = capture();
    new RequestLines(pino({ messageKey: "message" }, ours.stream)).write("info", base);
    pino({ messageKey: "message" }, theirs.stream).info({ trace_id: base.traceId, req: { method: base.method, url: base.url, remote_address: base.remoteAddress }, res: { status: 200 }, responseTime: 3 }, "request completed");
    expect(ours.lines[0]).toBe(theirs.lines[0]);
  });
});
