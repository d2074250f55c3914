import { describe, expect, it } from "vitest";
import { SseParser, type SseEvent } from "../../src/client/sse-reader.js";

/** Feeds `text` to a fresh parser in pieces of `size` characters, then ends the stream. */
function parse(text: string, size = text.length): { events: SseEvent[]; parser: SseParser } {
  const parser = new SseParser();
  const events: SseEvent[] = [];
  for (let i = 0; i < text.length; i += Math.max(size, 1)) events.push(...parser.push(text.slice(i, i + size)));
  events.push(...parser.end());
  return { events, parser };
}

const STREAM = 'id: 7\nevent: state\ndata: {"active":"vs_a","revision":7}\n\n: ping\n\nid: 8\nevent: state\ndata: {"active":"vs_b",\ndata: "revision":8}\n\n';

describe("SseParser", () => {
  it("reads events with id, type and multi-line data, skipping comments", () => {
    expect(parse(STREAM).events).toEqual([
      { event: "state", id: "7", data: '{"active":"vs_a","revision":7}' },
      { event: "state", id: "8", data: '{"active":"vs_b",\n"revision":8}' },
    ]);
  });

  it("gives the same events whatever the chunk boundaries (down to one character)", () => {
    const whole = parse(STREAM).events;
    for (const size of [1, 2, 3, 5, 13]) expect(parse(STREAM, size).events).toEqual(whole);
  });

  it("accepts CRLF and lone CR line endings, also when a CRLF is split across chunks", () => {
    const crlf = STREAM.replaceAll("\n", "\r\n");
    const cr = STREAM.replaceAll("\n", "\r");
    const whole = parse(STREAM).events;
    expect(parse(crlf).events).toEqual(whole);
    expect(parse(cr).events).toEqual(whole);
    for (const size of [1, 2, 7]) {
      expect(parse(crlf, size).events).toEqual(whole);
      expect(parse(cr, size).events).toEqual(whole);
    }
  });

  it("does not dispatch an event before its blank line, and drops an unterminated one at the end", () => {
    const parser = new SseParser();
    expect(parser.push("id: 1\ndata: half")).toEqual([]);
    expect(parser.push("\n")).toEqual([]);
    expect(parser.end()).toEqual([]);
    // A CR at the very end of a stream still ends its line (but the event had no blank line yet).
    expect(parse("data: x\r\r").events).toEqual([{ event: "message", id: undefined, data: "x" }]);
  });

  it("keeps the last id for later events and for reconnecting, ignores ids with NUL, and skips events without data", () => {
    const { events, parser } = parse("id: 3\n\ndata: a\n\nid: 4\0x\ndata: b\n\nid\ndata: c\n\n");
    expect(events).toEqual([
      { event: "message", id: "3", data: "a" },
      { event: "message", id: "3", data: "b" },
      { event: "message", id: "", data: "c" },
    ]);
    expect(parser.lastEventId).toBe("");
  });

  it("drops a leading byte-order mark, strips one space after the colon only, and ignores unknown fields", () => {
    expect(parse("\uFEFFdata:  two spaces\nfoo: bar\ndata\n\n").events).toEqual([{ event: "message", id: undefined, data: " two spaces\n" }]);
  });

  it("takes `retry:` at once when it is a number", () => {
    const parser = new SseParser();
    parser.push("retry: 2500\n\nretry: soon\n\n");
    expect(parser.retryMs).toBe(2500);
  });
});
