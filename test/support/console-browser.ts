/**
 * Browser support for the console's end-to-end tests: the console built from console/ into a
 * temporary directory (so a test never runs a stale dist/), a registry serving it, and Debian's
 * Chromium driven by playwright-core (never a downloaded browser). axe-core is evaluated in
 * the page through the DevTools protocol, which the page's CSP does not govern, so the CSP
 * stays exactly as served.
 */
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { expect } from "vitest";
import { buildConsole, type ConsoleBuild } from "../../scripts/build-console.js";
import { loadConsoleBundle } from "../../src/console/bundle.js";
import { backends, startTestApp, type TestApp } from "./test-app.js";

export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
export const SCREENSHOTS = path.join(fileURLToPath(new URL("../..", import.meta.url)), "docs", "console");

export interface ConsoleRig {
  t: TestApp;
  browser: Browser;
  build: ConsoleBuild;
  /** A new tab (its own sessionStorage) at `width`; CSP reports and page errors fail `checkPage`. */
  open(width?: number): Promise<ConsolePage>;
  close(): Promise<void>;
}

export interface ConsolePage {
  page: Page;
  /** Content-Security-Policy violations and uncaught errors seen so far. */
  problems: string[];
  goto(pathname: string): Promise<void>;
  signIn(token: string): Promise<void>;
}

export async function startConsoleRig(): Promise<ConsoleRig> {
  const out = await mkdtemp(path.join(tmpdir(), "pinset-console-build-"));
  const build = await buildConsole(out);
  const bundle = await loadConsoleBundle(out);
  if (!bundle) throw new Error("the console build wrote no manifest");
  const t = await startTestApp(backends()[0]!, { console: bundle });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  return {
    t,
    browser,
    build,
    async open(width = 1280) {
      const context = await browser.newContext({ viewport: { width, height: 900 }, timezoneId: "UTC", locale: "en-GB" });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
      });
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      return {
        page,
        problems,
        async goto(pathname) {
          await page.goto(`${t.url}${pathname}`);
        },
        async signIn(token) {
          await page.getByLabel("API token").fill(token);
          await page.getByRole("button", { name: "Sign in" }).click();
          await page.getByRole("button", { name: "Sign out" }).waitFor();
        },
      };
    },
    async close() {
      await browser.close();
      await t.close();
      await rm(out, { recursive: true, force: true });
    },
  };
}

let axeSource: string | undefined;

/** axe-core's violations of impact serious or critical on the page as it is now. */
export async function seriousViolations(page: Page): Promise<string[]> {
  axeSource ??= await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
  const loaded = await page.evaluate("typeof window.axe");
  if (loaded === "undefined") await page.evaluate(`${axeSource};void 0`);
  const violations = (await page.evaluate(`window.axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) })))`)) as Array<{ id: string; impact: string; help: string; nodes: string[] }>;
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.impact} ${v.id}: ${v.help} @ ${v.nodes.join(", ")}`);
}

/**
 * The checks every page gets: axe clean (serious/critical), no CSP violation or page error,
 * a screenshot for the docs at 1 280 px, and no page-wide horizontal scrolling at 390 px.
 */
export async function checkPage(p: ConsolePage, name: string): Promise<void> {
  const { page } = p;
  await page.getByText(/^Loading /).first().waitFor({ state: "detached" }).catch(() => undefined);
  expect(await seriousViolations(page), `axe on ${name}`).toEqual([]);
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const width = page.viewportSize()!.width;
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate("document.documentElement.scrollWidth");
  expect(overflow, `${name} at 390 px is ${overflow} px wide`).toBeLessThanOrEqual(390);
  expect(await seriousViolations(page), `axe on ${name} at 390 px`).toEqual([]);
  await page.setViewportSize({ width, height: 900 });
  expect(p.problems, `CSP violations or errors on ${name}`).toEqual([]);
}
