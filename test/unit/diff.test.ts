import { describe, expect, it } from "vitest";
import { diffComponentContent, diffSlots, type DiffSide } from "../../src/version-sets/diff/index.js";
import { renderPrompt } from "../../src/version-sets/diff/prompt.js";

const digest = (n: number): string => `sha256:${n.toString(16).padStart(64, "0")}`;

describe("prompt detail", () => {
  it("diffs templates as text", () => {
    const detail = diffComponentContent("prompt", { template: "Hello {{name}}.\nBe brief.\n" }, { template: "Hello {{name}}!\nBe brief.\n" });
    expect(detail).toEqual({
      unified: "--- a/prompt\n+++ b/prompt\n@@ -1,2 +1,2 @@\n-Hello {{name}}.\n+Hello {{name}}!\n Be brief.\n",
      variables: { added: [], removed: [] },
    });
  });

  it("renders chat messages and diffs them as one text", () => {
    const from = { messages: [{ role: "system", content: "You are terse." }, { role: "user", content: "{{question}}" }], variables: ["question"] };
    const to = { messages: [{ role: "system", content: "You are kind." }, { role: "user", content: "{{question}}" }], variables: ["question", "tone"] };
    expect(renderPrompt(from)).toBe("[system]\nYou are terse.\n\n[user]\n{{question}}\n");
    expect(diffComponentContent("prompt", from, to)).toEqual({
      unified: "--- a/prompt\n+++ b/prompt\n@@ -1,5 +1,5 @@\n [system]\n-You are terse.\n+You are kind.\n \n [user]\n {{question}}\n",
      variables: { added: ["tone"], removed: [] },
    });
  });

  it("diffs a template against messages", () => {
    const detail = diffComponentContent("prompt", { template: "Answer {{q}}\n", variables: ["q"] }, { messages: [{ role: "user", content: "Answer {{q}}" }], variables: ["q"] }) as { unified: string };
    expect(detail.unified).toBe("--- a/prompt\n+++ b/prompt\n@@ -1 +1,2 @@\n+[user]\n Answer {{q}}\n");
  });

  it("does not show trailing-newline-only differences (a prompt from a file against the same text from the API)", () => {
    const fromFile = { template: "Answer {{question}}.\nBe brief.\n", variables: ["question"] };
    const fromApi = { template: "Answer {{question}}.\nBe brief.", variables: ["question"] };
    expect(diffComponentContent("prompt", fromApi, fromFile)).toEqual({ unified: "", variables: { added: [], removed: [] }, trailing_newlines_differ: true });
    // Runs of line breaks, and CRLF, at the end count the same.
    expect(diffComponentContent("prompt", { template: "x\r\n\n\n" }, { template: "x" })).toMatchObject({ unified: "", trailing_newlines_differ: true });
    // Chat messages: each message's content is compared without its trailing line breaks.
    const chat = (system: string) => ({ messages: [{ role: "system", content: system }, { role: "user", content: "{{question}}" }], variables: ["question"] });
    expect(diffComponentContent("prompt", chat("You are terse.\n"), chat("You are terse."))).toMatchObject({ unified: "", trailing_newlines_differ: true });
  });

  it("still shows a real change next to a trailing-newline difference, without `No newline at end of file`", () => {
    const detail = diffComponentContent("prompt", { template: "Hello.\nBe brief." }, { template: "Hello!\nBe brief.\n" }) as { unified: string };
    expect(detail).toEqual({ unified: "--- a/prompt\n+++ b/prompt\n@@ -1,2 +1,2 @@\n-Hello.\n+Hello!\n Be brief.\n", variables: { added: [], removed: [] } });
    expect(detail.unified).not.toContain("No newline");
    // Inner blank lines and leading breaks are content: they are compared.
    expect((diffComponentContent("prompt", { template: "a\nb\n" }, { template: "a\n\nb\n" }) as { unified: string }).unified).toContain("+\n");
    expect((diffComponentContent("prompt", { template: "a" }, { template: "\na" }) as { unified: string }).unified).not.toBe("");
  });

  it("reports removed variables and an empty unified diff for equal text", () => {
    expect(diffComponentContent("prompt", { template: "x", variables: ["b", "a"] }, { template: "x" })).toEqual({ unified: "", variables: { added: [], removed: ["a", "b"] } });
  });
});

describe("contract detail", () => {
  it("has breaking and changes", () => {
    const from = { schema: { type: "object", properties: { answer: { type: "string" } }, required: ["answer"] } };
    const to = { schema: { type: "object", properties: { answer: { type: "string" } } } };
    expect(diffComponentContent("contract", from, to)).toEqual({
      breaking: true,
      changes: [{ path: "$.required", breaking: true, message: 'required property "answer" removed or made optional' }],
    });
  });
});

describe("model detail", () => {
  it("lists dotted field changes sorted, with null for added and removed", () => {
    const from = { provider: "openai", model: "gpt-4o", params: { temperature: 0.2, stop: ["\n"], response: { format: "json" } } };
    const to = { provider: "openai", model: "gpt-4o-mini", revision: "2024-07-18", params: { temperature: 0.7, stop: ["\n"], seed: 7 } };
    expect(diffComponentContent("model", from, to)).toEqual({
      changes: [
        { field: "model", from: "gpt-4o", to: "gpt-4o-mini" },
        { field: "params.response.format", from: "json", to: null },
        { field: "params.seed", from: null, to: 7 },
        { field: "params.temperature", from: 0.2, to: 0.7 },
        { field: "revision", from: null, to: "2024-07-18" },
      ],
    });
  });

  it("compares arrays as whole values and quotes keys that contain dots", () => {
    const detail = diffComponentContent("model", { provider: "p", model: "m", params: { stop: ["a"], "top.k": 1 } }, { provider: "p", model: "m", params: { stop: ["a", "b"], "top.k": 2 } });
    expect(detail).toEqual({
      changes: [
        { field: "params.stop", from: ["a"], to: ["a", "b"] },
        { field: 'params["top.k"]', from: 1, to: 2 },
      ],
    });
  });
});

describe("index detail", () => {
  it("lists added, removed and changed paths and metadata changes", () => {
    const from = { files: [{ path: "b.txt", digest: digest(1), size: 1 }, { path: "a.txt", digest: digest(2), size: 2 }, { path: "same.txt", digest: digest(3), size: 3 }], metadata: { embedder: "e5", chunk: { size: 512 } } };
    const to = { files: [{ path: "same.txt", digest: digest(3), size: 3 }, { path: "c.txt", digest: digest(4), size: 4 }, { path: "a.txt", digest: digest(5), size: 2 }] };
    expect(diffComponentContent("index", from, to)).toEqual({
      files: { added: ["c.txt"], removed: ["b.txt"], changed: ["a.txt"] },
      metadata: [
        { field: "chunk.size", from: 512, to: null },
        { field: "embedder", from: "e5", to: null },
      ],
    });
  });
});

describe("tools detail", () => {
  const search = (schema: unknown, extra: Record<string, unknown> = {}) => ({ name: "search", description: "Search the web", input_schema: schema, ...extra });
  const base = { type: "object", properties: { q: { type: "string" }, limit: { type: "integer", maximum: 50 } }, required: ["q"] };

  it("lists added and removed tools by name", () => {
    const detail = diffComponentContent("tools", { tools: [search(base), { name: "old", description: "", input_schema: {} }] }, { tools: [search(base), { name: "b", description: "", input_schema: {} }, { name: "a", description: "", input_schema: {} }] });
    expect(detail).toEqual({ added: ["a", "b"], removed: ["old"], changed: [] });
  });

  it("treats a new required parameter as breaking (input direction)", () => {
    const to = { ...base, required: ["q", "limit"] };
    expect(diffComponentContent("tools", { tools: [search(base)] }, { tools: [search(to)] })).toEqual({
      added: [],
      removed: [],
      changed: [{ name: "search", breaking: true, changes: [{ path: "$.input_schema.required", breaking: true, message: 'property "limit" is now required' }] }],
    });
  });

  it("treats loosening the input as compatible and tightening as breaking", () => {
    const looser = { ...base, properties: { ...base.properties, limit: { type: "integer", maximum: 100 } } };
    const tighter = { ...base, properties: { ...base.properties, limit: { type: "integer", maximum: 10 } } };
    const loose = diffComponentContent("tools", { tools: [search(base)] }, { tools: [search(looser)] }) as { changed: Array<{ breaking: boolean; changes: unknown[] }> };
    expect(loose.changed[0]).toEqual({ name: "search", breaking: false, changes: [{ path: "$.input_schema.properties.limit.maximum", breaking: false, message: "upper bound relaxed from <= 50 to <= 100" }] });
    const tight = diffComponentContent("tools", { tools: [search(base)] }, { tools: [search(tighter)] }) as { changed: Array<{ breaking: boolean }> };
    expect(tight.changed[0]!.breaking).toBe(true);
  });

  it("a new optional parameter breaks only an open input schema", () => {
    // Open schema: an old caller could already send `lang` with any value, which may now fail.
    const withLang = { ...base, properties: { ...base.properties, lang: { type: "string", enum: ["en", "fr"] } } };
    const open = diffComponentContent("tools", { tools: [search(base)] }, { tools: [search(withLang)] }) as { changed: Array<{ breaking: boolean; changes: unknown[] }> };
    expect(open.changed[0]!.changes).toEqual([{ path: "$.input_schema.properties.lang", breaking: true, message: 'property "lang" added' }]);
    // Closed schema: no old caller could send `lang`, so accepting it is pure widening.
    const closed = { ...base, additionalProperties: false };
    const closedWithLang = { ...withLang, additionalProperties: false };
    const shut = diffComponentContent("tools", { tools: [search(closed)] }, { tools: [search(closedWithLang)] }) as { changed: Array<{ breaking: boolean }> };
    expect(shut.changed).toEqual([{ name: "search", breaking: false, changes: [{ path: "$.input_schema.properties.lang", breaking: false, message: 'property "lang" added' }] }]);
  });

  it("labels description and permission changes", () => {
    const from = { tools: [search(base, { permissions: ["net:read", "fs:read"] })] };
    const to = { tools: [search(base, { description: "Search the web, politely", permissions: ["net:read", "net:write"] })] };
    expect(diffComponentContent("tools", from, to)).toEqual({
      added: [],
      removed: [],
      changed: [{
        name: "search",
        breaking: true,
        changes: [
          { path: "$.description", breaking: false, message: "description changed" },
          { path: "$.permissions", breaking: true, message: 'permission "net:write" added' },
          { path: "$.permissions", breaking: false, message: 'permission "fs:read" removed' },
        ],
      }],
    });
  });

  it("a description change alone is not breaking, and removing permissions is not breaking", () => {
    const detail = diffComponentContent("tools", { tools: [search(base, { permissions: ["net:read"] })] }, { tools: [search(base, { description: "other" })] }) as { changed: Array<{ breaking: boolean }> };
    expect(detail.changed).toHaveLength(1);
    expect(detail.changed[0]!.breaking).toBe(false);
  });
});

describe("config detail", () => {
  it("lists dotted added, removed and changed keys, sorted; arrays are whole values", () => {
    const from = { values: { retries: 3, features: { beta: true, old: 1 }, hosts: ["a"], "x.y": 1 } };
    const to = { values: { retries: 5, features: { beta: true, fresh: { on: true } }, hosts: ["a", "b"], "x.y": 1, empty: {} } };
    expect(diffComponentContent("config", from, to)).toEqual({
      added: ["empty", "features.fresh.on"],
      removed: ["features.old"],
      changed: [
        { key: "hosts", from: ["a"], to: ["a", "b"] },
        { key: "retries", from: 3, to: 5 },
      ],
    });
  });

  it("is empty for equal values in any key order", () => {
    expect(diffComponentContent("config", { values: { a: 1, b: { c: [1, { d: 2, e: 3 }] } } }, { values: { b: { c: [1, { e: 3, d: 2 }] }, a: 1 } })).toEqual({ added: [], removed: [], changed: [] });
  });
});

describe("diffSlots", () => {
  const side = (kind: DiffSide["kind"], name: string, version: number, n: number, content: unknown): DiffSide => ({ kind, name, version, digest: digest(n), content });

  it("returns one entry per slot, sorted, with every change kind", () => {
    const from = {
      prompt: side("prompt", "support", 1, 1, { template: "a\n" }),
      model: side("model", "main", 2, 2, { provider: "p", model: "m" }),
      retired: side("config", "flags", 1, 3, { values: {} }),
      shifting: side("config", "limits", 1, 4, { values: { a: 1 } }),
    };
    const to = {
      shifting: side("tools", "limits", 1, 5, { tools: [] }),
      prompt: side("prompt", "support", 2, 6, { template: "b\n" }),
      model: side("model", "main", 2, 2, { provider: "p", model: "m" }),
      added: side("contract", "answer", 1, 7, { schema: {} }),
    };
    const result = diffSlots(from, to);
    expect(result.map((r) => [r.slot, r.change])).toEqual([
      ["added", "added"],
      ["model", "unchanged"],
      ["prompt", "changed"],
      ["retired", "removed"],
      ["shifting", "changed"],
    ]);
    expect(result[0]).toEqual({ slot: "added", change: "added", from: null, to: { kind: "contract", name: "answer", version: 1, digest: digest(7) }, detail: null });
    expect(result[1]).toEqual({ slot: "model", change: "unchanged", from: { kind: "model", name: "main", version: 2, digest: digest(2) }, to: { kind: "model", name: "main", version: 2, digest: digest(2) }, detail: null });
    expect(result[2]!.detail).toEqual({ unified: "--- a/support\n+++ b/support\n@@ -1 +1 @@\n-a\n+b\n", variables: { added: [], removed: [] } });
    expect(result[3]).toEqual({ slot: "retired", change: "removed", from: { kind: "config", name: "flags", version: 1, digest: digest(3) }, to: null, detail: null });
    expect(result[4]!.detail).toEqual({ kind_changed: { from: "config", to: "tools" } });
    for (const entry of result) {
      expect(entry.from === null || !("content" in entry.from)).toBe(true);
      expect(entry.to === null || !("content" in entry.to)).toBe(true);
    }
  });

  it("uses the kind's differ for a changed slot and ignores content when digests match", () => {
    const from = { c: side("config", "app", 1, 1, { values: { a: 1 } }) };
    const to = { c: side("config", "app", 2, 2, { values: { a: 2 } }) };
    expect(diffSlots(from, to)[0]!.detail).toEqual({ added: [], removed: [], changed: [{ key: "a", from: 1, to: 2 }] });
    // Same digest: unchanged, whatever the (here deliberately inconsistent) content says.
    expect(diffSlots(from, { c: side("config", "app", 3, 1, { values: { a: 9 } }) })[0]).toMatchObject({ change: "unchanged", detail: null });
  });

  it("is empty for two empty sets", () => {
    expect(diffSlots({}, {})).toEqual([]);
  });
});

describe("evalset detail", () => {
  it("lists case ids added, removed and changed (any field, key order ignored), sorted", () => {
    const from = { cases: [{ id: "b", input: 1 }, { id: "a", input: { x: 1, y: 2 } }, { id: "gone", input: 0 }, { id: "tagged", input: 1, tags: ["x"] }] };
    const to = { cases: [{ id: "new", input: 2 }, { id: "a", input: { y: 2, x: 1 } }, { id: "b", input: 1, expect: "ok" }, { id: "tagged", input: 1, tags: ["y"] }] };
    expect(diffComponentContent("evalset", from, to)).toEqual({ added: ["new"], removed: ["gone"], changed: ["b", "tagged"] });
    expect(diffComponentContent("evalset", from, from)).toEqual({ added: [], removed: [], changed: [] });
  });
});
