import { describe, expect, it } from "vitest";
import { unifiedDiff } from "../../src/version-sets/diff/text-diff.js";

const NO_NEWLINE = "\\ No newline at end of file";

/** Lines with their terminators; written independently of the module under test. */
function linesOf(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

interface Hunk {
  oldStart: number;
  oldCount: number;
  newStart: number;
  newCount: number;
  lines: Array<{ tag: string; text: string }>;
}

function parseUnified(diff: string): Hunk[] {
  const rows = diff.split("\n");
  expect(rows.pop()).toBe(""); // every line, the last included, ends with "\n"
  expect(rows[0]).toMatch(/^--- a\//);
  expect(rows[1]).toMatch(/^\+\+\+ b\//);
  const hunks: Hunk[] = [];
  for (let i = 2; i < rows.length; ) {
    const header = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$/.exec(rows[i]!);
    expect(header, rows[i]).not.toBeNull();
    const [, os, oc, ns, nc] = header!;
    const hunk: Hunk = { oldStart: Number(os), oldCount: Number(oc ?? 1), newStart: Number(ns), newCount: Number(nc ?? 1), lines: [] };
    for (i++; i < rows.length && !rows[i]!.startsWith("@@"); i++) {
      const row = rows[i]!;
      const noNewline = rows[i + 1] === NO_NEWLINE;
      expect([" ", "-", "+"]).toContain(row[0]);
      hunk.lines.push({ tag: row[0]!, text: row.slice(1) + (noNewline ? "" : "\n") });
      if (noNewline) i++;
    }
    hunks.push(hunk);
  }
  return hunks;
}

/** A tiny patch(1): applies the hunks to `oldText`, checking every context and removed line. */
function applyUnified(oldText: string, diff: string): string {
  if (diff === "") return oldText;
  const old = linesOf(oldText);
  const out: string[] = [];
  let pos = 0;
  for (const hunk of parseUnified(diff)) {
    const start = hunk.oldCount === 0 ? hunk.oldStart : hunk.oldStart - 1;
    expect(start).toBeGreaterThanOrEqual(pos);
    out.push(...old.slice(pos, start));
    pos = start;
    expect(hunk.newStart).toBe(hunk.newCount === 0 ? out.length : out.length + 1);
    for (const { tag, text } of hunk.lines) {
      if (tag !== "+") expect(old[pos++]).toBe(text);
      if (tag !== "-") out.push(text);
    }
    expect(hunk.lines.filter((l) => l.tag !== "+")).toHaveLength(hunk.oldCount);
    expect(hunk.lines.filter((l) => l.tag !== "-")).toHaveLength(hunk.newCount);
  }
  out.push(...old.slice(pos));
  return out.join("");
}

function lcsLength(a: string[], b: string[]): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const row = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++) row[j] = a[i - 1] === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, row[j - 1]!);
    prev = row;
  }
  return prev[b.length]!;
}

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ten = Array.from({ length: 10 }, (_, i) => `line ${i + 1}\n`).join("");

describe("unifiedDiff: exact output", () => {
  it("is empty for identical input", () => {
    expect(unifiedDiff(ten, ten)).toBe("");
    expect(unifiedDiff("", "")).toBe("");
  });

  it("writes headers and one hunk with three lines of context", () => {
    const changed = ten.replace("line 5\n", "line five\n");
    expect(unifiedDiff(ten, changed, { fromLabel: "support", toLabel: "support" })).toBe(
      "--- a/support\n+++ b/support\n@@ -2,7 +2,7 @@\n line 2\n line 3\n line 4\n-line 5\n+line five\n line 6\n line 7\n line 8\n",
    );
  });

  it("omits the count when it is one, as GNU diff does", () => {
    expect(unifiedDiff("x\n", "y\n")).toBe("--- a/a\n+++ b/b\n@@ -1 +1 @@\n-x\n+y\n");
  });

  it("handles an empty old side", () => {
    expect(unifiedDiff("", "a\nb\n", { fromLabel: "p", toLabel: "p" })).toBe("--- a/p\n+++ b/p\n@@ -0,0 +1,2 @@\n+a\n+b\n");
  });

  it("handles an empty new side", () => {
    expect(unifiedDiff("a\nb\n", "")).toBe("--- a/a\n+++ b/b\n@@ -1,2 +0,0 @@\n-a\n-b\n");
  });

  it("marks a last line without a newline", () => {
    expect(unifiedDiff("a\nb", "a\nb\n")).toBe(`--- a/a\n+++ b/b\n@@ -1,2 +1,2 @@\n a\n-b\n${NO_NEWLINE}\n+b\n`);
    expect(unifiedDiff("a\nb\n", "a\nc")).toBe(`--- a/a\n+++ b/b\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n${NO_NEWLINE}\n`);
    expect(unifiedDiff("x", "y")).toBe(`--- a/a\n+++ b/b\n@@ -1 +1 @@\n-x\n${NO_NEWLINE}\n+y\n${NO_NEWLINE}\n`);
  });

  it("shows an unchanged last line without a newline as context", () => {
    expect(unifiedDiff("a\nz", "b\nz")).toBe(`--- a/a\n+++ b/b\n@@ -1,2 +1,2 @@\n-a\n+b\n z\n${NO_NEWLINE}\n`);
  });

  it("inserts at the start with the right line numbers", () => {
    expect(unifiedDiff(ten, `new\n${ten}`)).toBe("--- a/a\n+++ b/b\n@@ -1,3 +1,4 @@\n+new\n line 1\n line 2\n line 3\n");
  });

  it("merges changes separated by at most six unchanged lines", () => {
    const lines = Array.from({ length: 20 }, (_, i) => `${i + 1}\n`);
    const six = [...lines];
    six[4] = "x\n"; // line 5
    six[11] = "y\n"; // line 12: six unchanged lines (6..11) between
    expect(unifiedDiff(lines.join(""), six.join(""))).toBe(
      "--- a/a\n+++ b/b\n@@ -2,14 +2,14 @@\n 2\n 3\n 4\n-5\n+x\n 6\n 7\n 8\n 9\n 10\n 11\n-12\n+y\n 13\n 14\n 15\n",
    );
  });

  it("splits changes separated by seven unchanged lines", () => {
    const lines = Array.from({ length: 20 }, (_, i) => `${i + 1}\n`);
    const seven = [...lines];
    seven[4] = "x\n"; // line 5
    seven[12] = "y\n"; // line 13: seven unchanged lines (6..12) between
    expect(unifiedDiff(lines.join(""), seven.join(""))).toBe(
      "--- a/a\n+++ b/b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+x\n 6\n 7\n 8\n@@ -10,7 +10,7 @@\n 10\n 11\n 12\n-13\n+y\n 14\n 15\n 16\n",
    );
  });

  it("honours a different context size", () => {
    expect(unifiedDiff(ten, ten.replace("line 5\n", "five\n"), { context: 0 })).toBe("--- a/a\n+++ b/b\n@@ -5 +5 @@\n-line 5\n+five\n");
    expect(unifiedDiff("a\nb\n", "a\n", { context: 0 })).toBe("--- a/a\n+++ b/b\n@@ -2 +1,0 @@\n-b\n");
  });
});

describe("unifiedDiff: properties on random input", () => {
  const next = rng(20240611);
  const randomText = (): string => {
    const n = Math.floor(next() * 25);
    const words = ["a", "b", "c", "d", "{{name}}", ""];
    const lines = Array.from({ length: n }, () => words[Math.floor(next() * words.length)]!);
    return lines.join("\n") + (n > 0 && next() < 0.6 ? "\n" : "");
  };
  const mutate = (text: string): string => {
    const lines = linesOf(text);
    for (let k = Math.floor(next() * 4); k >= 0; k--) {
      const at = Math.floor(next() * (lines.length + 1));
      const roll = next();
      if (roll < 0.4) lines.splice(at, 0, `new ${Math.floor(next() * 3)}\n`);
      else if (roll < 0.8) lines.splice(at, 1);
      else if (lines.length > 0) lines[lines.length - 1] = lines[lines.length - 1]!.replace(/\n$/, "");
    }
    return lines.join("");
  };

  it("applying the hunks to the old text gives the new text, with a shortest script", () => {
    for (let round = 0; round < 400; round++) {
      const before = randomText();
      const after = round % 2 === 0 ? randomText() : mutate(before);
      const diff = unifiedDiff(before, after);
      expect(diff === "").toBe(before === after);
      expect(applyUnified(before, diff), JSON.stringify({ before, after, diff })).toBe(after);
      const edits = diff.split("\n").slice(2).filter((row) => row.startsWith("-") || row.startsWith("+")).length;
      const a = linesOf(before);
      const b = linesOf(after);
      expect(edits).toBe(a.length + b.length - 2 * lcsLength(a, b));
    }
  });

  it("keeps at most three context lines at each end of every hunk", () => {
    for (let round = 0; round < 200; round++) {
      const before = randomText();
      const diff = unifiedDiff(before, mutate(before));
      if (diff === "") continue;
      for (const hunk of parseUnified(diff)) {
        const tags = hunk.lines.map((l) => l.tag).join("");
        expect(tags).toMatch(/^ {0,3}[-+]/);
        expect(tags).toMatch(/[-+] {0,3}$/);
        expect(tags).not.toMatch(/ {7,}/);
      }
    }
  });
});

describe("unifiedDiff: size", () => {
  it("diffs prompts of a few thousand lines quickly", () => {
    const base = Array.from({ length: 5000 }, (_, i) => `instruction ${i}: ${(i * 7919) % 1013}\n`);
    const edited = base.map((line, i) => (i % 97 === 0 ? `edited ${i}\n` : line));
    const rewritten = base.map((_, i) => `rewritten ${i}\n`);
    const start = performance.now();
    const sparse = unifiedDiff(base.join(""), edited.join(""));
    const full = unifiedDiff(base.join(""), rewritten.join(""));
    expect(performance.now() - start).toBeLessThan(2000);
    expect(applyUnified(base.join(""), sparse)).toBe(edited.join(""));
    expect(applyUnified(base.join(""), full)).toBe(rewritten.join(""));
    expect(full.split("\n").filter((row) => row.startsWith("@@"))).toEqual(["@@ -1,5000 +1,5000 @@"]);
  });
});
