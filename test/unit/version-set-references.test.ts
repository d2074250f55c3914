import { describe, expect, it } from "vitest";
import { formatReference, MAX_REFERENCE_LENGTH, parseComponentReference } from "../../src/version-sets/references.js";

const DIGEST = `sha256:${"ab".repeat(32)}`;

describe("parseComponentReference", () => {
  it.each([
    ["prompt/answer@latest", { kind: "prompt", name: "answer", ref: { by: "latest" } }],
    ["model/chat@3", { kind: "model", name: "chat", ref: { by: "version", version: 3 } }],
    ["index/kb.v2_docs-en@1", { kind: "index", name: "kb.v2_docs-en", ref: { by: "version", version: 1 } }],
    [`contract/out@${DIGEST}`, { kind: "contract", name: "out", ref: { by: "digest", digest: DIGEST } }],
    ["tools/t@999999999", { kind: "tools", name: "t", ref: { by: "version", version: 999999999 } }],
    ["config/0@latest", { kind: "config", name: "0", ref: { by: "latest" } }],
  ])("parses %s", (text, reference) => {
    expect(parseComponentReference(text)).toEqual({ ok: true, reference });
  });

  it.each([
    ["", /must be <kind>\/<name>@<ref>/],
    ["prompt/answer", /must be <kind>\/<name>@<ref>/],
    ["answer@1", /must be <kind>\/<name>@<ref>/],
    ["prompt/a/b@1", /must be <kind>\/<name>@<ref>/],
    ["prompt/a@1@2", /must be <kind>\/<name>@<ref>/],
    ["widget/answer@1", /unknown kind "widget": must be one of prompt, contract, model, index, tools, config/],
    ["Prompt/answer@1", /unknown kind "Prompt"/],
    ["/answer@1", /unknown kind ""/],
    ["prompt/Answer@1", /artifact name "Answer" must match/],
    ["prompt/@1", /artifact name "" must match/],
    ["prompt/.hidden@1", /artifact name ".hidden" must match/],
    ["prompt/answer@", /ref "" must be a version number/],
    ["prompt/answer@0", /ref "0" must be a version number/],
    ["prompt/answer@01", /ref "01" must be a version number/],
    ["prompt/answer@-1", /ref "-1" must be a version number/],
    ["prompt/answer@1.5", /ref "1.5" must be a version number/],
    ["prompt/answer@1234567890", /ref "1234567890" must be a version number/],
    ["prompt/answer@LATEST", /ref "LATEST"/],
    [`prompt/answer@sha256:${"AB".repeat(32)}`, /must be a version number, sha256/],
    [`prompt/answer@sha256:${"ab".repeat(31)}`, /must be a version number, sha256/],
    [`prompt/${"a".repeat(MAX_REFERENCE_LENGTH)}@1`, /longer than 256 characters/],
  ])("refuses %j with a message naming the wrong part", (text, message) => {
    const parsed = parseComponentReference(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toMatch(message);
  });

  it("formats a parsed reference back to its text", () => {
    for (const text of ["prompt/answer@latest", "model/chat@3", `contract/out@${DIGEST}`]) {
      const parsed = parseComponentReference(text);
      if (!parsed.ok) throw new Error(parsed.message);
      expect(formatReference(parsed.reference)).toBe(text);
    }
  });
});
