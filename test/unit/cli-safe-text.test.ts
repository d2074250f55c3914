import { describe, expect, it } from "vitest";
import { errorLine } from "../../src/cli/errors.js";
import { colours } from "../../src/cli/render/colour.js";
import { PinsetApiError } from "../../src/client/errors.js";
import { escapeControl, escapeDeep, safeJson, sanitizeOutput } from "../../src/cli/render/safe-text.js";
import { terminalUnsafeProblem } from "../../src/core/terminal-text.js";

/** What the issue saw printed by `pinset diff`: retitle the window, erase the line, move up. */
const ATTACK = "x\u001b]0;owned\u0007\u001b[2K\u001b[1Ay";
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]/;

describe("terminal-safe text in the CLI", () => {
  it("writes control, bidi and zero-width characters out visibly", () => {
    expect(escapeControl(ATTACK)).toBe("x\\u001b]0;owned\\u0007\\u001b[2K\\u001b[1Ay");
    expect(escapeControl("a\u202eb\u2066c\u200bd\ufeffe\u0085f\u2028g")).toBe("a\\u202eb\\u2066c\\u200bd\\ufeffe\\u0085f\\u2028g");
    expect(escapeControl("tag\u{e0001}")).toBe("tag\\u{e0001}");
    expect(escapeControl("a\r\nb\tc")).toBe("a\\u000d\\u000ab\\u0009c");
    expect(escapeControl("a\nb\tc", "\n\t")).toBe("a\nb\tc");
    expect(escapeControl("ordinary ä 😀 text")).toBe("ordinary ä 😀 text");
  });

  it("escapes every string and key of an API answer, leaving other values alone", () => {
    const answer = { reason: ATTACK, n: 1, ok: true, none: null, list: [`\u001b[8mhidden`, 2], [`k\u001b`]: { deep: "\u202eevil" } };
    const escaped = escapeDeep(answer);
    expect(RAW_CONTROL.test(JSON.stringify(escaped).replace(/\\u[0-9a-f]{4}/g, ""))).toBe(false);
    expect(escaped).toEqual({ reason: escapeControl(ATTACK), n: 1, ok: true, none: null, list: ["\\u001b[8mhidden", 2], "k\\u001b": { deep: "\\u202eevil" } });
    expect(escapeDeep({ unified: "-a\n+b\n" })).toEqual({ unified: "-a\n+b\n" });
  });

  it("--json stays the same JSON value with nothing a terminal acts on left raw", () => {
    const value = { reason: ATTACK, bidi: "\u202e\u2066\u200f", c1: "\u009b31m", sep: "\u2028", tag: "\u{e0001}" };
    const text = safeJson(value);
    expect(JSON.parse(text)).toEqual(value);
    expect(RAW_CONTROL.test(text)).toBe(false);
    expect(/[\u2028\u{e0001}]/u.test(text)).toBe(false);
  });

  it("keeps the CLI's own colours and line breaks in the last check, and nothing else", () => {
    const c = colours(true);
    const line = `${c.red("breaking")}\n${c.bold("slot")}\t${ATTACK}`;
    expect(sanitizeOutput(line)).toBe(`${c.red("breaking")}\n${c.bold("slot")}\t${escapeControl(ATTACK)}`);
    expect(sanitizeOutput("\u001b]0;t\u0007")).toBe("\\u001b]0;t\\u0007");
    expect(sanitizeOutput("\u{e0001}")).toBe("\\u{e0001}");
  });
});

describe("error lines", () => {
  it("write out control characters a server put in a detail or a field error", () => {
    const error = new PinsetApiError({ status: 422, code: "validation_failed", detail: `bad ${ATTACK}`, traceId: "t1", errors: [{ path: "body.\u202ex", message: "no\u001b[2K" }] });
    const line = errorLine(error);
    expect(RAW_CONTROL.test(line)).toBe(false);
    expect(line).toBe(`pinset: bad ${escapeControl(ATTACK)}: body.\\u202ex: no\\u001b[2K (validation_failed, trace t1)`);
  });
});

describe("terminal-unsafe text on the server", () => {
  it("names the first offending character and its position", () => {
    expect(terminalUnsafeProblem("docs/readme.md")).toBeUndefined();
    expect(terminalUnsafeProblem("docs/ä 😀 file.md")).toBeUndefined();
    expect(terminalUnsafeProblem("a\u001b[2Kb")).toBe("must not contain control, bidirectional or zero-width characters (U+001B at character 2)");
    for (const ch of ["\u0000", "\u0007", "\u007f", "\u0085", "\u009b", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a", "\u202e", "\u2060", "\u2066", "\u2069", "\ufeff", "\u2028", "\u2029"]) {
      expect(terminalUnsafeProblem(`a${ch}`), `U+${ch.codePointAt(0)!.toString(16)}`).toMatch(/^must not contain/);
    }
  });
});
