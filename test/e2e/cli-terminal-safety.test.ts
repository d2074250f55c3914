/**
 * Finding 7, the CLI half: whatever text the registry holds (a deploy reason, a prompt, a config
 * value are free text), `pinset` never writes a control, bidi or zero-width character from it
 * to the terminal: it writes it out (`\u001b`). `--json` keeps the exact value.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { content } from "../support/builders.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";
import { cliFor, ensureCliBuilt, json } from "./cli-support.js";

const ATTACK = "x\u001b]0;owned\u0007\u001b[2K\u001b[1Ay";
const BIDI = "safe\u202etxt.exe";
/** Anything a terminal would act on, except the line feed and tab the CLI writes itself. */
const RAW = /[\u0000-\u0008\u000b-\u001a\u001c-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]/;
/** ESC is allowed only as the start of a colour (SGR) sequence; NO_COLOR is not set in these runs, but stdout is no TTY. */
const RAW_ESC = /\u001b(?!\[[0-9;]*m)/;

describe("pinset output with hostile text in the registry", () => {
  let t: TestApp;
  let cli: ReturnType<typeof cliFor>;
  let sets: string[];

  beforeAll(async () => {
    await ensureCliBuilt();
    t = await startTestApp(backends()[0]!);
    cli = cliFor(t, "tty");
    expect((await t.request("PUT", "/v1/projects/tty")).status).toBe(201);
    sets = [];
    for (const [i, text] of [`Answer {{q}} ${ATTACK}`, `Answer {{q}} kindly ${BIDI}`].entries()) {
      expect((await t.request("POST", "/v1/projects/tty/artifacts/prompt/p", { body: { content: content.prompt(text, ["q"]) } })).status).toBe(201);
      expect((await t.request("POST", "/v1/projects/tty/artifacts/config/c", { body: { content: { values: { note: i === 0 ? ATTACK : BIDI } } } })).status).toBe(201);
      const set = await (await t.request("POST", "/v1/projects/tty/version-sets", { body: { components: { prompt: `prompt/p@${i + 1}`, config: `config/c@${i + 1}` } } })).json();
      sets.push(set.id);
    }
    expect((await t.request("PUT", "/v1/projects/tty/environments/staging", { body: {} })).status).toBe(201);
    expect((await t.request("POST", "/v1/projects/tty/environments/staging/deploy", { body: { version_set: sets[0], reason: ATTACK } })).status).toBe(200);
  }, 180_000);
  afterAll(async () => t?.close());

  it("history writes the reason's escape sequences out instead of running them", async () => {
    const r = await cli(["history", "staging"]);
    expect(r.code).toBe(0);
    expect(RAW.test(r.stdout) || RAW_ESC.test(r.stdout), JSON.stringify(r.stdout)).toBe(false);
    expect(r.stdout).toContain("x\\u001b]0;owned\\u0007\\u001b[2K\\u001b[1Ay");
  });

  it("diff writes prompt text and config values out, bidi overrides included", async () => {
    const r = await cli(["diff", sets[0]!, sets[1]!]);
    expect(r.code).toBe(0);
    expect(RAW.test(r.stdout) || RAW_ESC.test(r.stdout), JSON.stringify(r.stdout)).toBe(false);
    expect(r.stdout).toContain("\\u001b]0;owned");
    expect(r.stdout).toContain("safe\\u202etxt.exe");
    // The unified diff is still rendered line by line.
    expect(r.stdout).toMatch(/^\s+-Answer \{\{q\}\} x\\u001b/m);
    expect(r.stdout).toMatch(/^\s+\+Answer \{\{q\}\} kindly safe\\u202etxt\.exe/m);
  });

  it("--json prints the exact values, with nothing a terminal acts on left raw", async () => {
    const r = await cli(["history", "staging", "--json"]);
    expect(r.code).toBe(0);
    expect(RAW.test(r.stdout) || /\u001b/.test(r.stdout)).toBe(false);
    expect(json<{ items: Array<{ reason: string }> }>(r).items[0]!.reason).toBe(ATTACK);
    const d = await cli(["diff", sets[0]!, sets[1]!, "--json"]);
    expect(RAW.test(d.stdout) || /\u001b/.test(d.stdout)).toBe(false);
    expect(JSON.stringify(json(d))).toContain(JSON.stringify(BIDI).slice(1, -1));
  });
});
