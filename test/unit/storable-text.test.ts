import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { findUnstorableText, utf8JsonMayHoldUnstorable, vouchStorable } from "../../src/http/storable-text.js";

describe("findUnstorableText", () => {
  it("accepts ordinary text, emoji (surrogate pairs) and non-strings", () => {
    expect(findUnstorableText({ a: ["é", "😀", 1, null, true, { b: "ok" }] }, "body")).toBeUndefined();
  });

  it.each([
    [{ description: "a\u0000b" }, "body.description", /NUL/],
    [{ annotations: { k: ["x", "\ud800"] } }, "body.annotations.k.1", /lone surrogate/],
    [{ content: { "\u0000key": 1 } }, "body.content.\ufffdkey", /keys must not contain the NUL/],
    [["ok", "\udc00"], "body.1", /lone surrogate/],
  ])("finds %j at %s", (value, path, message) => {
    const found = findUnstorableText(value, "body");
    expect(found?.path).toBe(path);
    expect(found?.message).toMatch(message);
  });

  it("walks any depth without growing the stack", () => {
    let deep: unknown = "\u0000";
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(findUnstorableText(deep, "body")?.message).toMatch(/NUL/);
  });
});

describe("utf8JsonMayHoldUnstorable (the raw body's scan that lets a body skip the walk)", () => {
  const scan = (text: string) => utf8JsonMayHoldUnstorable(Buffer.from(text, "utf8"));

  it("clears text whose escapes cannot make NUL or a surrogate, raw non-ASCII included", () => {
    for (const text of ['{"a":"plain"}', '{"a":"caf\\u00e9 \\n \\t \\u001f \\u0001"}', '{"a":"café 😀"}', '{"\\u00e9":1}', "{}"]) {
      expect(scan(text), text).toBe(false);
    }
  });

  it("flags \\u0000 and every \\uD… escape, in either case, and an escaped backslash before one", () => {
    for (const text of ['{"a":"\\u0000"}', '{"a":"\\ud800"}', '{"a":"\\uDFFF"}', '{"\\uDc00":1}', '{"a":"\\uD83D\\uDE00"}', '{"a":"\\\\u0000"}', '{"a":"x\\u0000"}']) {
      expect(scan(text), text).toBe(true);
    }
  });

  it("never clears a JSON text whose parsed value holds unstorable text (generated strings and keys)", () => {
    const text = fc.oneof(fc.string({ unit: "binary" }), fc.constantFrom("\u0000", "\ud800", "\udfff", "a\udc00b", "😀", "\u0000\u0000"));
    fc.assert(
      fc.property(fc.dictionary(text, fc.oneof(text, fc.array(text))), (value) => {
        const raw = Buffer.from(JSON.stringify(value), "utf8");
        if (findUnstorableText(value, "body")) expect(utf8JsonMayHoldUnstorable(raw)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it("a vouched-for body is not walked", () => {
    const body = { a: "\u0000" };
    vouchStorable(body);
    expect(findUnstorableText(body, "body")).toBeUndefined();
    expect(findUnstorableText({ a: "\u0000" }, "body")?.message).toMatch(/NUL/);
  });
});
