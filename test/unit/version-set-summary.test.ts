import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { LruCache } from "../../src/version-sets/bundle-cache.js";
import { versionSetId } from "../../src/version-sets/identity.js";
import { summarize, type PinnedComponent } from "../../src/version-sets/summary.js";

const d = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const pin = (kind: PinnedComponent["kind"], name: string, version: number, digest = d(version)): PinnedComponent => ({ kind, name, version, digest });

describe("summarize", () => {
  it("gives one line per kind present, slots in order, joined with ', ', code shortened to 12", () => {
    const summary = summarize(
      {
        system: pin("prompt", "greet", 3),
        answer: pin("prompt", "answer", 2),
        llm: pin("model", "chat", 7),
        kb: pin("index", "docs", 1),
        out: pin("contract", "answer-schema", 4),
        tools: pin("tools", "support-tools", 5),
        settings: pin("config", "defaults", 6),
      },
      { repo: "github.com/acme/bot", commit: "9fceb02d0ae598e95dc970b74767f19372d61af8" },
    );
    expect(summary).toEqual({
      code_v: "github.com/acme/bot@9fceb02d0ae5",
      prompt_v: "answer=answer@2, system=greet@3",
      model_v: "llm=chat@7",
      index_v: "kb=docs@1",
      contract_v: "out=answer-schema@4",
      tools_v: "tools=support-tools@5",
      config_v: "settings=defaults@6",
    });
    expect(Object.keys(summary)).toEqual(["code_v", "prompt_v", "contract_v", "model_v", "index_v", "tools_v", "config_v"]);
  });

  it("leaves out kinds without a slot and code when there is none; a short commit stays whole", () => {
    expect(summarize({ m: pin("model", "chat", 1) }, null)).toEqual({ model_v: "m=chat@1" });
    expect(summarize({ m: pin("model", "chat", 1) }, { repo: "r", commit: "abc" })).toEqual({ code_v: "r@abc", model_v: "m=chat@1" });
  });
});

describe("versionSetId", () => {
  const components = { b: pin("prompt", "x", 1), a: pin("model", "y", 2) };

  it("is vs_ + 24 hex of the sha256 of the canonical {components, code}", () => {
    const canonical =
      `{"code":{"commit":"c1","repo":"r"},"components":{` +
      `"a":{"digest":"${d(2)}","kind":"model","name":"y","version":2},` +
      `"b":{"digest":"${d(1)}","kind":"prompt","name":"x","version":1}}}`;
    const expected = `vs_${createHash("sha256").update(canonical).digest("hex").slice(0, 24)}`;
    expect(versionSetId(components, { repo: "r", commit: "c1" })).toBe(expected);
  });

  it("hashes code as null when absent, and does not depend on key order", () => {
    const canonical = `{"code":null,"components":{"a":{"digest":"${d(2)}","kind":"model","name":"y","version":2},"b":{"digest":"${d(1)}","kind":"prompt","name":"x","version":1}}}`;
    expect(versionSetId({ a: components.a, b: components.b }, null)).toBe(`vs_${createHash("sha256").update(canonical).digest("hex").slice(0, 24)}`);
  });

  it("changes with the slot name, the artifact name, the digest and the code", () => {
    const base = versionSetId(components, null);
    expect(versionSetId({ c: components.b, a: components.a }, null)).not.toBe(base);
    expect(versionSetId({ b: { ...components.b, name: "other" }, a: components.a }, null)).not.toBe(base);
    expect(versionSetId({ b: { ...components.b, digest: d(9) }, a: components.a }, null)).not.toBe(base);
    expect(versionSetId(components, { repo: "r", commit: "c" })).not.toBe(base);
  });
});

describe("LruCache", () => {
  it("evicts the least recently used entry beyond its capacity", () => {
    const cache = new LruCache<number>(2);
    cache.set("a", 1);
    cache.set("b", 2);
    expect(cache.get("a")).toBe(1); // a is now the most recent
    cache.set("c", 3);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBe(1);
    expect(cache.get("c")).toBe(3);
    expect(cache.size).toBe(2);
  });

  it("keeps the order right when the most recent key is asked again (a hit that need not move it)", () => {
    const cache = new LruCache<number>(2);
    cache.set("a", 1);
    cache.set("b", 2);
    expect(cache.get("b")).toBe(2); // already the most recent
    expect(cache.get("b")).toBe(2);
    cache.set("c", 3); // evicts a, the least recently used
    expect(cache.get("a")).toBeUndefined();
    expect(cache.get("b")).toBe(2); // b moves ahead of c
    cache.set("d", 4); // evicts c
    expect(cache.get("c")).toBeUndefined();
    expect([cache.get("b"), cache.get("d")]).toEqual([2, 4]);
    cache.clear();
    expect(cache.get("d")).toBeUndefined();
    cache.set("e", 5);
    expect(cache.get("e")).toBe(5);
  });

  it("loads a missing key once for concurrent callers and does not cache failures", async () => {
    const cache = new LruCache<string>(10);
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 5));
      return "v";
    };
    expect(await Promise.all([cache.getOrLoad("k", load), cache.getOrLoad("k", load), cache.getOrLoad("k", load)])).toEqual(["v", "v", "v"]);
    expect(loads).toBe(1);
    await expect(cache.getOrLoad("bad", () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await cache.getOrLoad("bad", async () => "ok")).toBe("ok");
  });
});
