import { describe, expect, it } from "vitest";
import { checkTemplate, escapePromqlString, promqlDuration, renderTemplate, type TemplateValues } from "../../src/analysis/templates.js";

const values: TemplateValues = { version_set: "vs_0123abcd", environment: "production", project: "support-bot", windowSeconds: 60 };

describe("promqlDuration", () => {
  it("writes whole hours, minutes or seconds", () => {
    expect([5, 45, 60, 90, 300, 3599, 3600, 7200].map(promqlDuration)).toEqual(["5s", "45s", "1m", "90s", "5m", "3599s", "1h", "2h"]);
  });
  it("refuses what is no whole number of seconds > 0", () => {
    for (const bad of [0, -5, 1.5, Number.NaN]) expect(() => promqlDuration(bad)).toThrow(RangeError);
  });
});

describe("renderTemplate", () => {
  it("fills every placeholder", () => {
    const template = 'sum(increase(llm_requests_total{version_set="{{version_set}}", env="{{ environment }}", project=\'{{project}}\'}[{{window}}]))';
    expect(renderTemplate(template, values)).toBe(
      "sum(increase(llm_requests_total{version_set=\"vs_0123abcd\", env=\"production\", project='support-bot'}[1m]))",
    );
    expect(renderTemplate('x{version_set="{{version_set}}"}[{{window}}] / x{version_set="{{version_set}}"}', { ...values, windowSeconds: 300 })).toBe(
      'x{version_set="vs_0123abcd"}[5m] / x{version_set="vs_0123abcd"}',
    );
  });

  it("leaves text that merely looks like PromQL braces alone", () => {
    expect(renderTemplate('sum by (le) (x{version_set="{{version_set}}", path=~"/a{2}"})', values)).toBe('sum by (le) (x{version_set="vs_0123abcd", path=~"/a{2}"})');
  });

  it("escapes hostile values so they cannot leave the string literal", () => {
    const hostile = ['x"} or vector(1) or up{a="', 'ends with a backslash \\', "line\nbreak\r\ttab", "\u0000\u0007\u007f", "quote ' in single", "ünïcødé ✓"];
    for (const version_set of hostile) {
      const double = renderTemplate('x{version_set="{{version_set}}"}', { ...values, version_set });
      const single = renderTemplate("x{version_set='{{version_set}}'}", { ...values, version_set });
      // The literal's body must decode (with Go/PromQL escapes) back to exactly the value …
      const bodyOf = (s: string) => s.slice("x{version_set=".length + 1, -2);
      expect(decodePromqlString(bodyOf(double), '"'), JSON.stringify(version_set)).toBe(version_set);
      expect(decodePromqlString(bodyOf(single), "'"), JSON.stringify(version_set)).toBe(version_set);
      // … and nothing after it changed: the selector still ends where the template ended it.
      expect(double.endsWith('"}')).toBe(true);
      expect(double).not.toMatch(/[\n\r\u0000]/);
    }
    expect(renderTemplate('x{version_set="{{version_set}}"}', { ...values, version_set: 'a"}b\\' })).toBe('x{version_set="a\\"}b\\\\"}');
  });

  it("refuses to render a template checkTemplate refuses", () => {
    expect(() => renderTemplate("x{version_set={{version_set}}}", values)).toThrow(/quoted label value/);
  });
});

describe("escapePromqlString", () => {
  it("escapes backslash, the delimiting quote and control characters only", () => {
    expect(escapePromqlString(`a"b'c\\d`, '"')).toBe(`a\\"b'c\\\\d`);
    expect(escapePromqlString(`a"b'c`, "'")).toBe(`a"b\\'c`);
    expect(escapePromqlString("\n\r\t\u0001\u001f\u007f", '"')).toBe("\\n\\r\\t\\x01\\x1f\\x7f");
  });
});

describe("checkTemplate", () => {
  it("tracks strings, escapes and comments as PromQL's lexer does", () => {
    expect(checkTemplate('x{a="\\"{{version_set}}"}')).toEqual([]); // still inside the string after \"
    expect(checkTemplate('x{a="b"} / y{version_set="{{version_set}}"}')).toEqual([]);
    expect(checkTemplate('x{a="#"} + y{version_set="{{version_set}}"}')).toEqual([]); // # inside a string is no comment
    expect(checkTemplate('x # note\n + y{version_set="{{version_set}}"}')).toEqual([]);
    expect(checkTemplate('x # {{window}}\n + y{version_set="{{version_set}}"}')[0]).toContain("comment");
  });
  it("names each unknown placeholder", () => {
    const problems = checkTemplate('x{version_set="{{version_set}}", a="{{VERSION_SET}}", b="{{}}"}');
    expect(problems).toEqual([expect.stringContaining('"{{VERSION_SET}}"'), expect.stringContaining('"{{}}"')]);
  });
});

/** Go's string-literal decoding for the escapes PromQL accepts, to check the round trip. */
function decodePromqlString(body: string, quote: '"' | "'"): string {
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === quote) throw new Error(`unescaped ${quote} at ${i}: the literal would end early`);
    if (c !== "\\") {
      out += c;
      continue;
    }
    const e = body[++i];
    if (e === "n") out += "\n";
    else if (e === "r") out += "\r";
    else if (e === "t") out += "\t";
    else if (e === "x") {
      out += String.fromCharCode(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (e === "\\" || e === quote) out += e;
    else throw new Error(`unknown escape \\${e}`);
  }
  return out;
}
