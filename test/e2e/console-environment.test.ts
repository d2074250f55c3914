/**
 * The console's environment flows in Debian's Chromium (issue 16): sign-in, projects and the
 * project overview, the environment page (history, what was live at, rollback, deploy, live
 * updates through watch), a read-only token, a stale revision, an expiring token and
 * problem+json errors. Slow: one Chromium and one registry (PGlite) for the file, ~30 s.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkPage, startConsoleRig, type ConsoleRig } from "../support/console-browser.js";
import { deployedEnv, envPath, history, makeSets } from "../support/rollouts.js";
import { ADMIN_TOKEN } from "../support/test-app.js";
import { createToken } from "../support/tokens.js";

describe("console: projects and environments", { timeout: 60_000 }, () => {
  let rig: ConsoleRig;
  let sets: string[];
  const P = "shop";

  const resolved = async (env = "prod") => {
    const res = await rig.t.request("GET", envPath(P, env, "/resolve"));
    expect(res.status).toBe(200);
    return res.headers.get("x-pinset-version-set");
  };
  const environment = async (env = "prod") => (await (await rig.t.request("GET", envPath(P, env))).json()) as { revision: number; active: string };

  beforeAll(async () => {
    rig = await startConsoleRig();
    const { t } = rig;
    expect((await t.request("PUT", `/v1/projects/${P}`, { body: { description: "The shop assistant" } })).status).toBe(201);
    expect((await t.request("PUT", "/v1/projects/other")).status).toBe(201);
    sets = await makeSets(t, P, 3);
    await deployedEnv(t, P, "prod", sets[0]!);
    // The "what was live at" picker has one-second steps: keep the two deploys a second apart.
    await new Promise((r) => setTimeout(r, 1_100));
    const second = await t.request("POST", envPath(P, "prod", "/deploy"), { body: { version_set: sets[1], reason: "ship v2" } });
    expect(second.status).toBe(200);
    await deployedEnv(t, P, "staging", sets[1]!);
  }, 120_000);
  afterAll(async () => rig?.close());

  it("signs in with a token kept in sessionStorage only, lists projects and opens the overview", async () => {
    const p = await rig.open();
    // Baseline in the same run: the browser fetching a tiny JSON answer from the same registry.
    const baselineStarted = performance.now();
    await p.goto("/healthz");
    console.log(`baseline: browser navigation to /healthz ${(performance.now() - baselineStarted).toFixed(0)} ms`);
    const started = performance.now();
    await p.goto("/");
    await p.page.getByLabel("API token").waitFor();
    const firstLoad = performance.now() - started;
    await checkPage(p, "sign-in");
    await p.signIn(ADMIN_TOKEN);
    await p.page.getByRole("link", { name: P, exact: true }).waitFor();
    console.log(`console first load to interactive (sign-in form usable): ${firstLoad.toFixed(0)} ms; JS ${(rig.build.jsGzipBytes / 1024).toFixed(1)} KB gzipped`);
    // The token is in sessionStorage, never in localStorage, cookies or the URL.
    expect(await p.page.evaluate("sessionStorage.getItem('pinset.token')")).toBe(ADMIN_TOKEN);
    expect(await p.page.evaluate("JSON.stringify(localStorage)")).toBe("{}");
    expect(await p.page.context().cookies()).toEqual([]);
    expect(p.page.url()).not.toContain(ADMIN_TOKEN);
    expect(rig.t.logs.text).not.toContain(ADMIN_TOKEN);
    await checkPage(p, "projects");

    await p.page.getByRole("link", { name: P, exact: true }).click();
    await p.page.waitForURL(`**/ui/projects/${P}`);
    const row = p.page.getByRole("row").filter({ has: p.page.getByRole("link", { name: "prod", exact: true }) });
    await expect.poll(() => row.textContent()).toContain("2");
    expect(await row.textContent()).toContain("open");
    await p.page.getByRole("heading", { name: "Recent activity" }).waitFor();
    await p.page.getByText("environment.deploy").first().waitFor();
    await checkPage(p, "project");
    await p.page.close();
  });

  it("environment page: history, what was live at, and a rollback that changes resolve for API clients", async () => {
    const p = await rig.open();
    await p.goto(`/ui/projects/${P}/environments/prod`);
    await p.signIn(ADMIN_TOKEN);
    const { page } = p;
    await page.getByText("live updates on").waitFor();
    // First load of a deep link with the session held (a reload): HTML, bundle, token check, data.
    const reloadStarted = performance.now();
    await page.reload();
    await page.getByRole("button", { name: "Rollback" }).and(page.locator(":enabled")).waitFor();
    await page.getByTestId("history").waitFor();
    console.log(`console first load to interactive (environment page reloaded, Rollback enabled, history shown): ${(performance.now() - reloadStarted).toFixed(0)} ms`);
    expect(await page.getByTestId("active-set").textContent()).toContain(sets[1]);
    const rows = page.getByTestId("history").locator("tbody tr");
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.first().textContent()).toContain("ship v2");

    // What was live at the first deploy's instant: the first set.
    const first = (await history(rig.t, P, "prod")).at(-1)!;
    const justAfter = new Date(Math.ceil(Date.parse(first.at) / 1000) * 1000).toISOString();
    await page.getByLabel("Date and time (your local time)").fill(justAfter.slice(0, 19));
    await page.getByRole("button", { name: "Show" }).click();
    await expect.poll(() => page.getByTestId("live-at-result").textContent()).toContain(sets[0]);
    await checkPage(p, "environment");

    expect(await resolved()).toBe(sets[1]);
    await page.getByRole("button", { name: "Rollback" }).click();
    await page.getByLabel("Reason").fill("bad answers in v2");
    await page.getByRole("button", { name: "Confirm rollback" }).click();
    await expect.poll(() => page.getByTestId("revision").textContent()).toBe("3");
    expect(await resolved()).toBe(sets[0]);
    const latest = (await history(rig.t, P, "prod"))[0]!;
    expect(latest).toMatchObject({ action: "rollback", version_set: sets[0], reason: "bad answers in v2" });
    await expect.poll(() => rows.first().textContent()).toContain("bad answers in v2");
    await page.close();
  });

  it("shows a deploy made through the API on an open page within 2 s, without reload (watch)", async () => {
    const p = await rig.open();
    await p.goto(`/ui/projects/${P}/environments/staging`);
    await p.signIn(ADMIN_TOKEN);
    const { page } = p;
    await page.getByText("live updates on").waitFor();
    const before = await environment("staging");
    await page.evaluate("window.__notReloaded = true");
    const deployed = await rig.t.request("POST", envPath(P, "staging", "/deploy"), { body: { version_set: sets[2], reason: "from the CLI" } });
    expect(deployed.status).toBe(200);
    const sent = Date.now();
    await page.getByTestId("revision").filter({ hasText: String(before.revision + 1) }).waitFor({ timeout: 2_000 });
    console.log(`API deploy shown on the open page after ${Date.now() - sent} ms`);
    expect(await page.getByTestId("active-set").textContent()).toContain(sets[2]);
    await page.getByTestId("history").getByText("from the CLI").waitFor({ timeout: 2_000 });
    expect(await page.evaluate("window.__notReloaded")).toBe(true);
    await page.close();
  });

  it("deploys a chosen set from the page with a reason", async () => {
    const p = await rig.open();
    await p.goto(`/ui/projects/${P}/environments/staging`);
    await p.signIn(ADMIN_TOKEN);
    const { page } = p;
    await page.getByText("live updates on").waitFor();
    await page.getByRole("button", { name: "Deploy…" }).click();
    await page.getByLabel("Version set").selectOption(sets[0]!);
    await page.getByLabel("Reason").fill("back to the first");
    await page.getByRole("button", { name: "Deploy", exact: true }).click();
    await expect.poll(() => page.getByTestId("active-set").textContent()).toContain(sets[0]);
    expect(await resolved("staging")).toBe(sets[0]);
    expect((await history(rig.t, P, "staging"))[0]).toMatchObject({ action: "deploy", reason: "back to the first" });
    await page.close();
  });

  it("a read-only token sees no enabled Rollback, and a forged click is refused by the server (403)", async () => {
    const reader = await createToken(rig.t, { name: "viewer", scopes: ["read"], projects: [P] });
    const p = await rig.open();
    await p.goto(`/ui/projects/${P}/environments/prod`);
    await p.signIn(reader.token);
    const { page } = p;
    await page.getByText("live updates on").waitFor();
    const rollback = page.getByRole("button", { name: "Rollback" });
    expect(await rollback.isDisabled()).toBe(true);
    expect(await page.getByRole("button", { name: "Deploy…" }).isDisabled()).toBe(true);
    await page.getByText("Your token has no deploy scope").first().waitFor();
    const before = await environment();
    // Forge it: enable the button in the DOM and go through with it.
    await rollback.evaluate((b) => ((b as HTMLButtonElement).disabled = false));
    await rollback.click();
    await page.getByRole("button", { name: "Confirm rollback" }).click();
    const problem = page.getByTestId("problem");
    await problem.waitFor();
    expect(await problem.textContent()).toMatch(/Forbidden.*403.*deploy scope/s);
    // And straight at the API with the page's own token.
    const status = await page.evaluate(`fetch("/v1/projects/${P}/environments/prod/rollback", { method: "POST", headers: { authorization: "Bearer " + sessionStorage.getItem("pinset.token"), "content-type": "application/json" }, body: "{}" }).then((r) => r.status)`);
    expect(status).toBe(403);
    expect(await environment()).toEqual(before);
    // Projects outside the token are not listed.
    await p.goto("/");
    await page.getByRole("link", { name: P, exact: true }).waitFor();
    expect(await page.getByRole("link", { name: "other", exact: true }).count()).toBe(0);
    await page.close();
  });

  it("a rollback on a stale revision answers 409, says 'changed since you looked — reload' and changes nothing", async () => {
    const p = await rig.open();
    const { page } = p;
    // This page misses live updates (its watch is cut), as after a lost connection.
    await page.route("**/watch", (route) => route.abort());
    await p.goto(`/ui/projects/${P}/environments/prod`);
    await p.signIn(ADMIN_TOKEN);
    const shown = await environment();
    await page.getByTestId("revision").filter({ hasText: String(shown.revision) }).waitFor();
    const moved = await rig.t.request("POST", envPath(P, "prod", "/deploy"), { body: { version_set: sets[2], reason: "someone else" } });
    expect(moved.status).toBe(200);
    const after = await environment();
    const historyBefore = await history(rig.t, P, "prod");
    await page.getByRole("button", { name: "Rollback" }).click();
    await page.getByRole("button", { name: "Confirm rollback" }).click();
    const stale = page.getByTestId("stale");
    await stale.waitFor();
    expect(await stale.textContent()).toContain("Changed since you looked — reload");
    expect(await environment()).toEqual(after);
    expect(await history(rig.t, P, "prod")).toEqual(historyBefore);
    expect(await resolved()).toBe(sets[2]);
    await page.close();
  });

  it("shows an API error as its problem+json title, detail and trace id", async () => {
    const p = await rig.open();
    const { page } = p;
    const traces: string[] = [];
    page.on("response", (r) => {
      if (r.url().includes("/version-sets/vs_")) traces.push(r.headers()["x-trace-id"] ?? "");
    });
    await p.goto(`/ui/projects/${P}/version-sets/vs_000000000000000000000000`);
    await p.signIn(ADMIN_TOKEN);
    const problem = page.getByTestId("problem").first();
    await problem.waitFor();
    const text = (await problem.textContent())!;
    expect(text).toContain("Not found");
    expect(text).toMatch(/Version set vs_0+ not found/i);
    expect(traces.length).toBeGreaterThan(0);
    expect(traces).toContain(await page.getByTestId("trace-id").first().textContent());
    await checkPage(p, "error");
    await page.close();
  });

  it("a token that expires mid-session returns to sign-in on the same URL, and signing in again continues there", async () => {
    // Fifteen seconds leave a loaded machine (load 20 here) room to sign in before the token expires.
    const expiresAt = Date.now() + 15_000;
    const shortLived = await createToken(rig.t, { scopes: ["read"], projects: [P], expires_at: new Date(expiresAt).toISOString() });
    const p = await rig.open();
    const { page } = p;
    const url = `/ui/projects/${P}/environments/prod`;
    await p.goto(url);
    await p.signIn(shortLived.token);
    await page.getByRole("heading", { name: /Environment prod/ }).waitFor();
    expect(Date.now(), "signed in before the token expired").toBeLessThan(expiresAt);
    await page.getByTestId("session-ended").waitFor({ timeout: Math.max(0, expiresAt - Date.now()) + 20_000 });
    expect(await page.getByTestId("session-ended").textContent()).toMatch(/expired/);
    expect(new URL(page.url()).pathname).toBe(url);
    expect(await page.evaluate("sessionStorage.getItem('pinset.token')")).toBeNull();
    await p.signIn(ADMIN_TOKEN);
    await page.getByRole("heading", { name: /Environment prod/ }).waitFor();
    expect(new URL(page.url()).pathname).toBe(url);

    // A token revoked mid-session: the next API answer (401) ends the session the same way.
    const revoked = await createToken(rig.t, { scopes: ["read"], projects: [P] });
    await page.getByRole("button", { name: "Sign out" }).click();
    await p.signIn(revoked.token);
    await page.getByRole("heading", { name: /Environment prod/ }).waitFor();
    expect((await rig.t.request("DELETE", `/v1/tokens/${revoked.id}`)).status).toBe(204);
    // The page's live watch may meet the revocation first (its reconnect answers 401) and end the
    // session where it is; otherwise the next navigation's API call does. Either way it ends on
    // the URL the user was at when it ended.
    const overview = page.getByRole("link", { name: "Overview" });
    const ended = page.getByTestId("session-ended");
    await overview.or(ended).first().waitFor({ timeout: 15_000 });
    const navigated = await overview.click({ timeout: 2_000 }).then(
      () => true,
      () => false,
    );
    await ended.waitFor({ timeout: 15_000 });
    expect(new URL(page.url()).pathname).toBe(navigated ? `/ui/projects/${P}` : url);
    await page.close();
  });
  it("a frozen environment says so, and only an admin may unfreeze it (with a reason)", async () => {
    const { t } = rig;
    await deployedEnv(t, P, "canary", sets[0]!);
    const started = await t.request("PUT", envPath(P, "canary", "/rollout"), { body: { candidate: sets[1], percent: 5, auto: true } });
    expect(started.status).toBe(201);
    const window = { window_start: "2026-01-01T00:00:00Z", window_end: "2026-01-01T01:00:00Z" };
    expect((await t.request("POST", envPath(P, "canary", "/observations"), { body: { version_set: sets[0], ...window, metrics: { "risk.pii_leaks": 0 } } })).status).toBe(201);
    expect((await t.request("POST", envPath(P, "canary", "/observations"), { body: { version_set: sets[1], ...window, metrics: { "risk.pii_leaks": 2 } } })).status).toBe(201);
    expect((await environment("canary")) as unknown).toMatchObject({ frozen: true });

    const deployer = await createToken(t, { name: "deployer", scopes: ["deploy"], projects: [P] });
    const p = await rig.open();
    const { page } = p;
    await p.goto(`/ui/projects/${P}/environments/canary`);
    await p.signIn(deployer.token);
    await page.getByText("frozen: deploys refused until unfrozen").waitFor();
    expect(await page.getByRole("button", { name: "Unfreeze" }).isDisabled()).toBe(true);
    await page.getByText("Needs an admin token").waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await p.signIn(ADMIN_TOKEN);
    await page.getByRole("button", { name: "Unfreeze" }).click();
    await page.getByLabel("Reason").fill("pii leak fixed upstream");
    await page.getByRole("button", { name: "Confirm unfreeze" }).click();
    await page.getByText("not frozen").waitFor();
    expect((await environment("canary")) as unknown).toMatchObject({ frozen: false });
    expect((await history(t, P, "canary"))[0]).toMatchObject({ action: "unfreeze", reason: "pii leak fixed upstream" });
    await page.close();
  });

  it("is keyboard reachable with a visible focus: skip link, navigation, and Rollback's form opened and cancelled by keys", async () => {
    const p = await rig.open();
    const { page } = p;
    await p.goto(`/ui/projects/${P}/environments/staging`);
    await p.signIn(ADMIN_TOKEN);
    await page.getByText("live updates on").waitFor();
    await page.locator("body").focus();
    await page.keyboard.press("Tab");
    const focused = () => page.evaluate("[document.activeElement.tagName, document.activeElement.textContent.trim(), getComputedStyle(document.activeElement).outlineStyle]") as Promise<[string, string, string]>;
    expect(await focused()).toEqual(["A", "Skip to content", "solid"]);
    await page.keyboard.press("Tab");
    expect((await focused())[1]).toBe("Pinset");
    await page.keyboard.press("Tab");
    expect(await focused()).toEqual(["A", "Projects", "solid"]);
    let steps = 0;
    while ((await focused())[1] !== "Rollback" && steps++ < 40) await page.keyboard.press("Tab");
    expect(await focused()).toEqual(["BUTTON", "Rollback", "solid"]);
    await page.keyboard.press("Enter");
    await page.getByLabel("Reason").focus();
    await page.keyboard.type("just looking");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    expect((await focused())[1]).toBe("Cancel");
    await page.keyboard.press("Enter");
    await page.getByRole("button", { name: "Rollback" }).waitFor();
    expect((await history(rig.t, P, "staging"))[0]!.reason).not.toBe("just looking");
    await page.close();
  });
});
