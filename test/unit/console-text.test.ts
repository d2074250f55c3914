/** The console's pure text helpers: the word diff of the prompt view and the evidence SHA-256. */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../console/sha256.js";
import { diffTokens, diffWords, tokens, type Part } from "../../console/word-diff.js";

const side = (parts: Part[], drop: "ins" | "del") => parts.filter((p) => p.op !== drop).map((p) => p.text).join("");

describe("word diff", () => {
  it("marks the changed words only", () => {
    expect(diffWords("Answer the question politely.", "Answer the question briefly.")).toEqual([
      { op: "same", text: "Answer the question " },
      { op: "del", text: "politely" },
      { op: "ins", text: "briefly" },
      { op: "same", text: "." },
    ]);
    expect(diffWords("", "new")).toEqual([{ op: "ins", text: "new" }]);
    expect(diffWords("old", "")).toEqual([{ op: "del", text: "old" }]);
    expect(diffWords("same", "same")).toEqual([{ op: "same", text: "same" }]);
  });

  it("rebuilds both texts from its parts, for any two texts", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.string({ maxLength: 200 }), (a, b) => {
        const parts = diffWords(a, b);
        expect(side(parts, "ins")).toBe(a);
        expect(side(parts, "del")).toBe(b);
      }),
      { numRuns: 300 },
    );
  });

  it("finds a few edits in 50 KB texts exactly, and gives up on alignment past the edit budget", () => {
    const words = Array.from({ length: 8000 }, (_, i) => `word${i % 97}`).join(" ");
    const edited = words.replace("word5 ", "changed ").replace("word60 word61", "word60") + " appended";
    const parts = diffWords(words, edited);
    expect(parts.filter((p) => p.op === "del").map((p) => p.text)).toEqual(["word5", "word61 "]);
    expect(parts.filter((p) => p.op === "ins").map((p) => p.text)).toEqual(["changed", " appended"]);
    const a = tokens("a b c d e f");
    const b = tokens("u v w x y z");
    expect(diffTokens(a, b, 3)).toEqual([
      { op: "del", text: "a b c d e f" },
      { op: "ins", text: "u v w x y z" },
    ]);
  });
});

describe("sha256Hex", () => {
  it("matches node:crypto on any bytes, including the padding boundaries", () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000]) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 31) & 0xff);
      expect(sha256Hex(bytes)).toBe(createHash("sha256").update(bytes).digest("hex"));
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => sha256Hex(bytes) === createHash("sha256").update(bytes).digest("hex")));
  });
});
