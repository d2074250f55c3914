import { describe, expect, it } from "vitest";
import { findUnstorableText } from "../../src/http/storable-text.js";

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
