/**
 * The console's other pages in Debian's Chromium (issue 16): version sets, the typed diff of
 * two sets (every kind, 50 KB prompts), artifacts (kinds → names → versions, content, compare),
 * a rollout (tiles, decision, gate_blocked and a forced advance, pause/resume/abort), its
 * evidence pack with digests checked, and the audit with filters and trace links.
 * Slow: one Chromium and one registry (PGlite) for the file, ~40 s.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkPage, seriousViolations, startConsoleRig, type ConsoleRig } from "../support/console-browser.js";
import { sha256Digest } from "../support/builders.js";
import { envPath } from "../support/rollouts.js";
import { ADMIN_TOKEN } from "../support/test-app.js";

const P = "lab";
const words = (n: number, seed: string) => Array.from({ length: n }, (_, i) => `${seed}${i % 113}`).join(" ");
/** ~50 KB prompts that differ in a few words. */
const LONG_A = `You are the lab assistant. ${words(7200, "word")} Answer {{question}}.`;
const LONG_B = LONG_A.replace("word7 word8 word9", "word7 CHANGED word9").replace("word100 word101", "word100 INSERTED word101");

describe("console: sets, diff, artifacts, rollout, evidence, audit", { timeout: 60_000 }, () => {
  let rig: ConsoleRig;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    rig = await startConsoleRig();
    const { t } = rig;
    const ok = async (method: string, p: string, body?: unknown, raw?: string) => {
      const res = await t.request(method, p, raw !== undefined ? { raw, headers: { "content-type": "application/octet-stream" } } : body !== undefined ? { body } : {});
      expect(res.status, `${method} ${p}: ${await res.clone().text()}`).toBeLessThan(300);
      return res.json().catch(() => null) as Promise<Record<string, unknown> | null>;
    };
    await ok("PUT", `/v1/projects/${P}`);
    const blobs = ["shard zero", "shard one", "shard one v2", "shard two"];
    for (const b of blobs) await ok("PUT", `/v1/projects/${P}/blobs/${sha256Digest(b)}`, undefined, b);
    const file = (path: string, b: string) => ({ path, digest: sha256Digest(b), size: Buffer.byteLength(b) });
    const publish = (kind: string, name: string, content: unknown) => ok("POST", `/v1/projects/${P}/artifacts/${kind}/${name}`, { content });
    const schema = (required: string[], answerType: string) => ({ type: "object", required, properties: { answer: { type: answerType }, sources: { type: "array" } } });
    // Version 1 of everything, then version 2.
    await publish("prompt", "answer", { template: "Answer {{question}} politely and briefly.", variables: ["question"] });
    await publish("prompt", "answer", { template: "Answer {{question}} briefly, citing {{source}}.", variables: ["question", "source"] });
    await publish("prompt", "chat", { messages: [{ role: "system", content: "You are terse." }, { role: "user", content: "{{q}}" }], variables: ["q"] });
    await publish("prompt", "chat", { messages: [{ role: "system", content: "You are terse and kind." }, { role: "user", content: "{{q}}" }], variables: ["q"] });
    await publish("prompt", "long", { template: LONG_A, variables: ["question"] });
    await publish("prompt", "long", { template: LONG_B, variables: ["question"] });
    await publish("contract", "answer", { schema: schema(["answer"], "string") });
    await publish("contract", "answer", { schema: schema(["answer", "sources"], "number") });
    await publish("model", "main", { provider: "openai", model: "gpt-4o-mini", params: { temperature: 0.2 } });
    await publish("model", "main", { provider: "openai", model: "gpt-4o-mini", params: { temperature: 0.7, max_tokens: 512 } });
    await publish("index", "kb", { files: [file("a.bin", "shard zero"), file("b.bin", "shard one")], metadata: { embedder: "e5-small" } });
    await publish("index", "kb", { files: [file("a.bin", "shard zero"), file("b.bin", "shard one v2"), file("c.bin", "shard two")], metadata: { embedder: "e5-base" } });
    const tool = (name: string, props: Record<string, unknown>, required: string[]) => ({ name, description: `The ${name} tool`, input_schema: { type: "object", properties: props, required } });
    await publish("tools", "agent", { tools: [tool("search", { q: { type: "string" } }, ["q"]), tool("fetch", { url: { type: "string" } }, ["url"])] });
    await publish("tools", "agent", { tools: [tool("search", { q: { type: "string" }, k: { type: "integer" } }, ["q", "k"]), tool("browse", { url: { type: "string" } }, ["url"])] });
    await publish("config", "app", { values: { retries: 3, mode: "safe" } });
    await publish("config", "app", { values: { retries: 5, timeout_s: 10 } });
    const slots = (v: number) => ({ answer: `prompt/answer@${v}`, chat: `prompt/chat@${v}`, long: `prompt/long@${v}`, contract: `contract/answer@${v}`, model: `model/main@${v}`, kb: `index/kb@${v}`, tools: `tools/agent@${v}`, config: `config/app@${v}` });
    ids.a = (await ok("POST", `/v1/projects/${P}/version-sets`, { components: slots(1), code: { repo: "github.com/acme/lab", commit: "a1" }, description: "first" }))!.id as string;
    ids.b = (await ok("POST", `/v1/projects/${P}/version-sets`, { components: slots(2), code: { repo: "github.com/acme/lab", commit: "b2" }, description: "second" }))!.id as string;
    await ok("PUT", envPath(P, "prod"));
    await ok("POST", envPath(P, "prod", "/deploy"), { version_set: ids.a, reason: "first release" });
    await ok("PUT", envPath(P, "prod", "/rollout"), { candidate: ids.b, percent: 5, reason: "try v2" });
    const observe = (vs: string, start: string, end: string, p95: number, success: unknown = 0.95) =>
      ok("POST", envPath(P, "prod", "/observations"), { version_set: vs, window_start: start, window_end: end, metrics: { "quality.success_rate": success, "latency.p95_ms": p95, "cost.tokens_per_request": 900, "risk.pii_leaks": 0 } });
    await observe(ids.a, "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z", 800);
    await observe(ids.b, "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z", 820);
    // The second window reports the success rate as samples (count of trials): the gate gives an interval.
    await observe(ids.a, "2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z", 790, { count: 1900, trials: 2000 });
    await observe(ids.b, "2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z", 1150, { count: 1880, trials: 2000 });
  }, 180_000);
  afterAll(async () => rig?.close());

  it("axe finds a planted violation (the accessibility check can fail)", async () => {
    const p = await rig.open();
    await p.goto("/");
    await p.page.getByLabel("API token").waitFor();
    await p.page.evaluate(`document.querySelector("form").append(Object.assign(document.createElement("input"), { id: "unlabelled" }))`);
    expect((await seriousViolations(p.page)).join("\n")).toMatch(/critical label/);
    await p.page.close();
  });

  it("version sets: the list with summary lines, a set's components with links, and Compare with… opening the diff", async () => {
    const p = await rig.open();
    await p.goto(`/ui/projects/${P}/version-sets`);
    await p.signIn(ADMIN_TOKEN);
    const { page } = p;
    await page.getByRole("link", { name: ids.b! }).waitFor();
    expect(await page.getByRole("row").filter({ hasText: ids.b! }).textContent()).toMatch(/prompt/);
    await checkPage(p, "version-sets");
    await page.getByRole("link", { name: ids.b! }).click();
    await page.getByRole("heading", { name: "Components" }).waitFor();
    expect(await page.getByRole("link", { name: "v2" }).count()).toBe(8);
    await page.getByRole("link", { name: "answer" }).first().waitFor();
    await checkPage(p, "version-set");
    await page.getByLabel("Older set").selectOption(ids.a!);
    const started = Date.now();
    await page.getByRole("button", { name: "Compare" }).click();
    await page.waitForURL(`**/ui/projects/${P}/diff?from=${ids.a}&to=${ids.b}`);
    await page.getByTestId("diff-ready").waitFor();
    await page.locator("section[aria-labelledby='slot-long'] ins").first().waitFor();
    console.log(`diff of two sets with 50 KB prompts (${LONG_A.length} and ${LONG_B.length} chars) rendered ${Date.now() - started} ms after the click`);
    await page.close();
  });

  it("diff: summary bar, prompts side by side with word highlights per message, contract paths with badges, model, index, tools and config", async () => {
    const p = await rig.open();
    await p.goto(`/ui/projects/${P}/diff?from=${ids.a}&to=${ids.b}`);
    await p.signIn(ADMIN_TOKEN);
    const { page } = p;
    await page.getByTestId("diff-ready").waitFor();
    expect(await page.getByTestId("diff-summary").textContent()).toBe("8 changed · 2 breaking · 0 unchanged");
    const slot = (name: string) => page.locator(`section[aria-labelledby='slot-${name}']`);
    await slot("answer").locator("ins").first().waitFor();
    expect(await slot("answer").locator("del").allTextContents()).toContain("politely");
    expect(await slot("answer").locator("ins").allTextContents()).toEqual(expect.arrayContaining(["+source ", "citing", "{{source}}"]));
    expect(await slot("chat").getByText(/message 1 \[system\]/).count()).toBeGreaterThan(0);
    expect(await slot("chat").locator("ins").allTextContents()).toContain(" and kind");
    expect((await slot("long").locator("ins").allTextContents()).map((x) => x.trim())).toEqual(["CHANGED", "INSERTED"]);
    expect((await slot("long").locator("del").allTextContents()).map((x) => x.trim())).toEqual(["word8"]);
    const contract = (await slot("contract").textContent())!;
    expect(contract).toContain("breaking");
    expect(contract).toMatch(/\$\.properties\.answer\.type/);
    expect(await slot("contract").getByRole("heading").textContent()).toMatch(/contract changed breaking/);
    const model = slot("model").getByRole("table", { name: "Model parameters" });
    expect(await model.getByRole("row").filter({ hasText: "params.temperature" }).textContent()).toMatch(/0\.2.*0\.7/);
    expect(await model.getByRole("row").filter({ hasText: "params.max_tokens" }).textContent()).toMatch(/null.*512/);
    expect(await slot("kb").textContent()).toMatch(/Files: 1 added · 0 removed · 1 changed/);
    expect(await slot("kb").textContent()).toMatch(/metadata\.embedder|embedder/);
    const tools = (await slot("tools").textContent())!;
    expect(tools).toMatch(/1 added · 1 removed \(breaking\) · 1 changed/);
    expect(tools).toMatch(/search\s*breaking/);
    const config = slot("config").getByRole("table", { name: "Changed keys" });
    expect(await config.getByRole("row").filter({ hasText: "retries" }).textContent()).toMatch(/3.*5/);
    expect(await slot("config").textContent()).toMatch(/Added keys \(1\).*timeout_s.*Removed keys \(1\).*mode/s);
    await checkPage(p, "diff");
    await page.close();
  });

  it("artifacts: kinds → names → versions, content rendered for its kind, and a compare of two versions", async () => {
    const p = await rig.open();
    await p.goto(`/ui/projects/${P}/artifacts`);
    await p.signIn(ADMIN_TOKEN);
    const { page } = p;
    await page.getByRole("link", { name: "agent" }).waitFor();
    await checkPage(p, "artifacts");
    await page.getByRole("navigation", { name: "Artifact kinds" }).getByRole("link", { name: "prompt" }).click();
    await page.waitForURL(`**/artifacts/prompt`);
    await page.getByRole("link", { name: "answer" }).click();
    await page.getByRole("link", { name: "v1" }).waitFor();
    await checkPage(p, "artifact-versions");
    await page.getByRole("link", { name: "v2" }).first().click();
    await page.getByRole("heading", { name: "prompt/answer v2" }).waitFor();
    // The heading can be drawn before the content arrives; allTextContents does not wait.
    await page.locator("mark.ph").first().waitFor();
    expect(await page.locator("mark.ph").allTextContents()).toEqual(["{{question}}", "{{source}}"]);
    await checkPage(p, "artifact-prompt");

    await p.goto(`/ui/projects/${P}/artifacts/prompt/answer`);
    await page.getByLabel("Compare", { exact: true }).selectOption("1");
    await page.getByLabel("with", { exact: true }).selectOption("2");
    const clicked = Date.now();
    await page.getByRole("button", { name: "Compare versions" }).click();
    await page.waitForURL(`**/compare?from=1&to=2`);
    expect(await page.locator("del").first().textContent()).toBe("politely");
    console.log(`baseline: two small prompt versions compared ${Date.now() - clicked} ms after the click`);
    await p.goto(`/ui/projects/${P}/artifacts/prompt/long`);
    await page.getByLabel("Compare", { exact: true }).selectOption("1");
    const longClicked = Date.now();
    await page.getByRole("button", { name: "Compare versions" }).click();
    await page.locator("ins", { hasText: "INSERTED" }).waitFor();
    console.log(`the same for two 50 KB prompt versions: ${Date.now() - longClicked} ms after the click`);
    await p.goto(`/ui/projects/${P}/artifacts/prompt/answer/compare?from=1&to=2`);
    await page.locator("del").first().waitFor();
    await checkPage(p, "artifact-compare");

    await p.goto(`/ui/projects/${P}/artifacts/contract/answer/versions/2`);
    const tree = page.locator("details.json").first();
    await tree.waitFor();
    expect(await tree.getAttribute("open")).not.toBeNull();
    await tree.locator("summary").first().click();
    expect(await tree.getAttribute("open")).toBeNull();
    await checkPage(p, "artifact-contract");

    await p.goto(`/ui/projects/${P}/artifacts/index/kb/versions/2`);
    const files = page.getByRole("table");
    await files.getByRole("row").filter({ hasText: "c.bin" }).waitFor();
    expect(await page.getByText(/3 files, 31 B in all/).count()).toBe(1);
    await checkPage(p, "artifact-index");
    await page.close();
  });

  it("rollout: stable vs candidate, tiles per metric with windows, the decision, gate_blocked and a forced advance, pause, resume, abort and the evidence pack", async () => {
    const p = await rig.open();
    await p.goto(`/ui/projects/${P}`);
    await p.signIn(ADMIN_TOKEN);
    const { page } = p;
    // The project overview shows the rollout's progress; its link opens the rollout page.
    const progress = page.getByRole("progressbar", { name: "Candidate share 5%" });
    await progress.waitFor();
    await page.getByRole("link", { name: /running/ }).click();
    await page.getByTestId("decision").waitFor();
    expect(await page.getByTestId("decision").textContent()).toMatch(/Signal\s*(red|yellow)/);
    const p95 = page.getByTestId("tile-latency.p95_ms");
    expect(await p95.textContent()).toMatch(/baseline 790 · candidate 1150/);
    expect(await p95.getByRole("row").count()).toBe(3);
    const success = page.getByTestId("tile-quality.success_rate");
    expect(await success.getByRole("row").last().textContent()).toMatch(/0\.95 \(1900\/2000\).*0\.94 \(1880\/2000\)/);
    // Each reason's sentence, as the gate wrote it.
    const reasons = (await (await rig.t.request("GET", envPath(P, "prod", "/rollout/decision"))).json()).reasons as Array<{ metric: string; summary: string; interval: { low: number | null; high: number | null } | null }>;
    expect(reasons.length).toBeGreaterThan(0);
    expect(await page.locator(".reasons li").allTextContents()).toEqual(reasons.map((r) => expect.stringContaining(r.summary)));
    // Where the gate gives an interval, the tile shows it (text and band).
    const withInterval = reasons.filter((r) => r.interval && r.interval.low !== null && r.interval.high !== null);
    expect(withInterval.map((r) => r.metric)).toContain("quality.success_rate");
    for (const r of withInterval) {
      const tile = page.getByTestId(`tile-${r.metric}`);
      expect(await tile.getByText(/^Interval /).count(), r.metric).toBe(1);
      expect(await tile.getByTestId("interval-band").count(), r.metric).toBe(1);
    }
    expect(await page.getByTestId("tile-cost.tokens_per_request").getByTestId("interval-band").count()).toBe(withInterval.some((r) => r.metric === "cost.tokens_per_request") ? 1 : 0);
    await checkPage(p, "rollout");

    await page.getByRole("button", { name: "Advance" }).click();
    await page.getByRole("button", { name: "Confirm advance" }).click();
    await page.getByTestId("gate-blocked").waitFor();
    expect(await page.getByTestId("gate-blocked").textContent()).toMatch(/Advance refused/);
    await page.getByRole("button", { name: "Force advance" }).click();
    const confirm = page.getByRole("button", { name: "Confirm force advance" });
    expect(await confirm.isDisabled()).toBe(true);
    await page.getByLabel("Reason (required)").fill("p95 spike is the cache warming");
    await confirm.click();
    await expect.poll(async () => (await (await rig.t.request("GET", envPath(P, "prod", "/rollout"))).json()).percent).toBe(25);
    await page.getByText("25%").first().waitFor();

    await page.getByRole("button", { name: "Pause" }).click();
    await page.getByRole("button", { name: "Confirm pause" }).click();
    await page.getByText("paused", { exact: true }).first().waitFor();
    await page.getByRole("button", { name: "Resume" }).click();
    await page.getByRole("button", { name: "Confirm resume" }).click();
    await page.getByText("running", { exact: true }).first().waitFor();
    // A step taken through the API shows on the open page without reload.
    expect((await rig.t.request("POST", envPath(P, "prod", "/rollout/pause"), { body: { reason: "from the CLI" } })).status).toBe(200);
    await page.getByText("paused", { exact: true }).first().waitFor({ timeout: 2_000 });
    await page.getByRole("button", { name: "Resume" }).click();
    await page.getByRole("button", { name: "Confirm resume" }).click();
    await page.getByText("running", { exact: true }).first().waitFor();
    await page.getByRole("button", { name: "Abort" }).click();
    await page.getByLabel("Reason").fill("not today");
    await page.getByRole("button", { name: "Confirm abort" }).click();
    await page.getByText("aborted", { exact: true }).first().waitFor();
    const history = (await (await rig.t.request("GET", envPath(P, "prod", "/history"))).json()).items as Array<{ action: string; reason: string | null; detail: { forced?: boolean } | null }>;
    expect(history.slice(0, 6).map((h) => h.action)).toEqual(["abort", "resume", "pause", "resume", "pause", "advance"]);
    expect(history[5]).toMatchObject({ reason: "p95 spike is the cache warming", detail: { forced: true } });

    const pack = page.getByRole("link", { name: /^ro_/ }).first();
    await pack.click();
    await page.getByRole("heading", { name: /Evidence pack ro_/ }).waitFor();
    expect(await page.getByTestId("manifest-check").textContent()).toContain("digest checked: matches");
    const files = page.locator("details.evidence-file");
    expect(await files.count()).toBeGreaterThanOrEqual(9);
    expect(await files.filter({ hasText: "digest checked: matches" }).count()).toBe(await files.count());
    const decisionFile = files.filter({ hasText: "decision.json" });
    await decisionFile.locator("summary").first().click();
    await decisionFile.locator(".json-view").waitFor();
    await checkPage(p, "evidence");

    // A pack altered in transit: the browser's own digest check catches the changed file.
    await page.route("**/v1/projects/*/evidence/*", async (route) => {
      const response = await route.fetch();
      const body = (await response.json()) as { contents: Record<string, unknown> };
      body.contents["decision.json"] = { tampered: true };
      await route.fulfill({ response, json: body });
    });
    await page.reload();
    await page.getByRole("heading", { name: /Evidence pack ro_/ }).waitFor();
    expect(await files.filter({ hasText: "digest MISMATCH" }).locator("code").first().textContent()).toBe("decision.json");
    expect(await files.filter({ hasText: "digest MISMATCH" }).count()).toBe(1);
    await page.close();
  });

  it("audit: filters by action, who, target and time, and each row's trace id links to that trace's rows", async () => {
    const p = await rig.open();
    await p.goto(`/ui/projects/${P}/audit`);
    await p.signIn(ADMIN_TOKEN);
    const { page } = p;
    const rows = page.getByRole("region", { name: "Audit entries" }).locator("tbody tr");
    await rows.first().waitFor();
    await checkPage(p, "audit");
    await page.getByLabel("Action (e.g. environment.deploy)").fill("artifact.publish");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/action=artifact.publish/);
    await expect.poll(() => rows.count()).toBe(16);
    expect(new Set(await rows.locator("td:nth-child(2)").allTextContents())).toEqual(new Set(["artifact.publish"]));

    await p.goto(`/ui/projects/${P}/audit?target=${encodeURIComponent("environment/prod*")}&since=2020-01-01T00:00:00Z&actor=${encodeURIComponent("admin (PINSET_ADMIN_TOKEN)")}`);
    await rows.first().waitFor();
    const targets = await rows.locator("td:nth-child(3)").allTextContents();
    expect(targets.length).toBeGreaterThan(0);
    expect(targets.every((x) => x.startsWith("environment/prod"))).toBe(true);
    expect(await page.getByLabel("From (your local time)").inputValue()).toBe("2020-01-01T00:00");

    const traceLink = rows.first().getByRole("link", { name: /Audit rows of trace/ });
    const trace = (await traceLink.textContent())!;
    await traceLink.click();
    await page.waitForURL(new RegExp(`trace_id=${trace}`));
    await expect.poll(async () => new Set(await rows.locator("td:nth-child(5)").allTextContents())).toEqual(new Set([trace]));
    expect(await page.getByLabel("Trace id").inputValue()).toBe(trace);

    await p.goto(`/ui/projects/${P}/audit?since=yesterday`);
    const problem = page.getByTestId("problem");
    await problem.waitFor();
    expect(await problem.textContent()).toMatch(/query\.since/);
    await page.close();
  });
});
