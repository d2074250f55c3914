import { describe, expect, it } from "vitest";
import { CanonicalJsonError, canonicalJson, digestOf } from "../../src/core/canonical-json.js";

describe("canonicalJson (RFC 8785)", () => {
  it("sorts keys by UTF-16 code units and drops white space", () => {
    expect(canonicalJson({ b: 1, a: [true, null, { d: 1, c: "x" }] })).toBe('{"a":[true,null,{"c":"x","d":1}],"b":1}');
    // RFC 8785 §3.2.3 sorting example: code-unit order, not locale order.
    expect(canonicalJson({ "\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\u00e9": 5, "\ud83d\ude00": 6 })).toBe(
      '{"\\r":2,"1":4,"\u00e9":5,"\u20ac":1,"\ud83d\ude00":6,"\ufb33":3}',
    );
  });

  it("writes numbers in ECMAScript shortest form", () => {
    expect(canonicalJson([1.0, 1e21, 1e-7, -0, 0.1 + 0.2, 333333333.33333329])).toBe("[1,1e+21,1e-7,0,0.30000000000000004,333333333.3333333]");
  });

  it("escapes strings minimally", () => {
    expect(canonicalJson("\u0000\b\t\n\f\r\"\\/\u007f")).toBe('"\\u0000\\b\\t\\n\\f\\r\\"\\\\/\u007f"');
  });

  it("refuses values I-JSON cannot carry", () => {
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(CanonicalJsonError);
    expect(() => canonicalJson({ x: Number.POSITIVE_INFINITY })).toThrow(CanonicalJsonError);
    expect(() => canonicalJson({ x: "\ud800" })).toThrow(/lone surrogate/);
    expect(() => canonicalJson({ x: undefined })).toThrow(CanonicalJsonError);
  });

  it("gives the same digest for the same content in any key order", () => {
    const a = digestOf({ template: "hi", variables: [] });
    const b = digestOf(JSON.parse('{"variables":[],"template":"hi"}'));
    expect(a.digest).toBe(b.digest);
    expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(a.size).toBe(Buffer.byteLength(a.canonical));
  });

  it("treats __proto__ as an ordinary key", () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
    expect(canonicalJson(parsed)).toBe('{"__proto__":{"polluted":true},"a":1}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
