import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, backends, startTestApp, type TestApp } from "../support/test-app.js";
import { cliFor, ensureCliBuilt, json, ROOT, runCli, runNode } from "./cli-support.js";

const COMMANDS = [
  ...["project create", "env create", "env show", "env unfreeze", "publish", "set create", "set show"],
  ...["deploy", "rollback", "history", "resolve", "diff"],
  ...["rollout start", "rollout status", "rollout decision", "rollout advance", "rollout pause", "rollout resume", "rollout abort", "rollout evidence"],
  ...["ls projects", "ls envs", "ls sets", "ls artifacts", "observe", "gate-policy get", "gate-policy set", "evidence get", "audit"],
  ...["token create", "token ls", "token revoke", "webhook add", "webhook ls", "webhook rm", "webhook deliveries", "gc"],
];

/** A loopback port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe("pinset without a registry", () => {
  beforeAll(ensureCliBuilt, 180_000);

  it("lists every command in --help and prints help for each, exit 0", async () => {
    const main = await runCli(["--help"]);
    expect(main.code).toBe(0);
    for (const name of COMMANDS) expect(main.stdout).toContain(`  ${name}`);
    const each: Awaited<ReturnType<typeof runCli>>[] = [];
    for (let i = 0; i < COMMANDS.length; i += 4) each.push(...(await Promise.all(COMMANDS.slice(i, i + 4).map((name) => runCli([...name.split(" "), "--help"])))));
    each.forEach((r, i) => {
      expect(r.code, COMMANDS[i]).toBe(0);
      expect(r.stdout).toContain(`Usage: pinset ${COMMANDS[i]}`);
      expect(r.stdout).toContain("Exit codes:");
    });
  }, 120_000);

  it("exits 2 with one line on stderr for usage errors, before any request", async () => {
    const env = { PINSET_URL: `http://127.0.0.1:${await closedPort()}`, PINSET_PROJECT: "demo" };
    const cases: [string[], RegExp][] = [
      [["deploi", "x"], /unknown command "deploi" \(did you mean "deploy"\?\)/],
      [["deploy", "staging"], /missing <set>/],
      [["deploy", "staging", "vs_1", "--expect-revision", "abc"], /--expect-revision expects a whole number/],
      [["history", "staging", "--bogus"], /unknown option '--bogus'/],
      [["publish", "widget", "x", "--file", "a.json"], /unknown kind "widget"/],
      [["publish", "prompt", "x", "--file", "a.json", "--annotation", "novalue"], /--annotation expects key=value/],
      [["publish", "prompt", "x", "--file", "/nonexistent/p.md"], /cannot read \/nonexistent\/p\.md: no such file/],
      [["publish", "model", "x", "--file", "prompt.md"], /a model is published from \.json or \.yaml/],
      [["resolve", "staging", "--at", "yesterday"], /--at expects an RFC 3339 time/],
      [["set"], /"set" needs a subcommand/],
      // A mistyped subcommand: an abbreviation wins over a one-letter slip (stat → status, not start).
      [["rollout", "stat", "production"], /unknown command "rollout stat" \(did you mean "rollout status"\?\)/],
      [["rollout", "strt", "production"], /unknown command "rollout strt" \(did you mean "rollout start"\?\)/],
      [["rolout", "status", "production"], /unknown command "rolout" \(did you mean "rollout status"\?\)/],
      [["ls", "artefacts"], /unknown command "ls artefacts" \(did you mean "ls artifacts"\?\)/],
      [["webhook", "zap"], /unknown command "webhook zap" \("webhook" has add, ls, rm, deliveries\)/],
      // --at without a time zone: caught here (exit 2), naming the expected form.
      [["resolve", "staging", "--at", "2025-03-01T03:10:00"], /--at expects an RFC 3339 time with a time zone, like 2025-03-01T03:10:00Z .*got "2025-03-01T03:10:00" \(it has no time zone/],
      [["resolve", "staging", "--at", "2025-02-30T03:10:00Z"], /--at expects an RFC 3339 time with a time zone/],
      [["resolve", "staging", "--at", "2025-03-01T03:10:00Z", "--subject", "t"], /--at and --subject cannot be combined/],
      [["ls", "artifacts", "--kind", "widget"], /unknown kind "widget"/],
      [["ls", "artifacts", "--prefix", "Bad"], /--prefix "Bad" cannot start an artifact name/],
      [["ls", "sets", "--limit", "501"], /--limit expects a whole number 1–500/],
      [["ls", "sets", "--all", "--cursor", "abc"], /--all starts from the first page/],
      [["observe", "production", "stable", "--window", "5m"], /missing --metric name=value/],
      [["observe", "production", "stable", "--metric", "quality.success_rate=0.9"], /missing the window: --window <duration>/],
      [["observe", "production", "stable", "--metric", "quality.success_rate=high", "--window", "5m"], /--metric quality\.success_rate expects a number, got "high"/],
      [["observe", "production", "stable", "--metric", "speed=1", "--window", "5m"], /--metric speed: metric names look like/],
      [["observe", "production", "stable", "--metric", "cost.tokens_per_request=1", "--window", "5 minutes"], /--window expects a duration such as 5m/],
      [["observe", "production", "latest", "--metric", "cost.tokens_per_request=1", "--window", "5m"], /<set> must be a version set id \(vs_…\), stable or candidate/],
      [["observe", "production", "stable", "--metric", "cost.tokens_per_request=1", "--from", "2025-03-01T03:10:00"], /--from expects an RFC 3339 time with a time zone/],
      [["evidence", "get", "ro_x"], /missing --out <dir>/],
      [["evidence", "get", "../etc", "--out", "x"], /"\.\.\/etc" is not an evidence pack id/],
      [["token", "create", "ci"], /missing --scope/],
      [["token", "create", "ci", "--scope", "write"], /unknown scope "write": use read, publish, deploy, admin/],
      [["token", "create", "ci", "--scope", "read", "--projects", "demo", "--expires", "2030-01-01"], /--expires expects an RFC 3339 time with a time zone/],
      [["token", "create", "ci", "--scope", "read", "--projects", "demo", "--expires-in", "soon"], /--expires-in expects a duration/],
      [["audit", "--since", "yesterday"], /--since expects an RFC 3339 time with a time zone, like .*, or a duration ago/],
      [["audit", "--since", "1h", "--until", "2h"], /--since must be before --until/],
      [["gate-policy", "set", "production"], /nothing to change: give --set section\.field=n, --steps or --file/],
      [["gate-policy", "set", "production", "--set", "hold_drop=0.1"], /--set expects section\.field=number/],
      [["gate-policy", "set", "production", "--steps", "1,x,100"], /--steps expects comma-separated percents/],
      [["webhook", "add", "https://example.com/h", "--event", "environment.changed"], /missing --secret-file <path>/],
      [["webhook", "add", "https://example.com/h", "--event", "deploy", "--secret", "0123456789abcdef"], /unknown event "deploy"/],
      [["webhook", "add", "ftp://example.com/h", "--event", "environment.changed", "--secret", "0123456789abcdef"], /<url> must be an http:\/\/ or https:\/\/ URL/],
      [["webhook", "add", "https://example.com/h", "--event", "environment.changed", "--secret", "short"], /the webhook secret must be 16–256 characters, got 5/],
      [["rollout", "status", "production", "--interval", "2"], /--interval goes with --watch/],
    ];
    // Four processes at a time: the machine is shared, and each is a node start.
    const results: Awaited<ReturnType<typeof runCli>>[] = [];
    for (let i = 0; i < cases.length; i += 4) results.push(...(await Promise.all(cases.slice(i, i + 4).map(([args]) => runCli(args, { env })))));
    results.forEach((r, i) => {
      expect(r.code, cases[i]![0].join(" ")).toBe(2);
      const lines = r.stderr.trim().split("\n");
      expect(lines.at(-1)).toMatch(/^pinset: /);
      expect(lines.at(-1)).toMatch(cases[i]![1]);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe("");
    });
    const noProject = await runCli(["history", "staging"], { env: { PINSET_URL: env.PINSET_URL } });
    expect(noProject.code).toBe(2);
    expect(noProject.stderr).toMatch(/no project: pass --project <name> or set PINSET_PROJECT/);
  }, 180_000);

  it("exits 1 with a clear line when the registry cannot be reached", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const r = await runCli(["--url", url, "-p", "demo", "env", "show", "staging"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`pinset: cannot reach the registry at ${url}: ECONNREFUSED`);
  });
});

describe.each(backends().slice(0, 1))("pinset against a registry on $name", (backend) => {
  let t: TestApp;
  let cli: ReturnType<typeof cliFor>;
  let dir: string;
  beforeAll(async () => {
    [t, dir] = await Promise.all([startTestApp(backend), mkdtemp(path.join(tmpdir(), "pinset-cli-")), ensureCliBuilt()]);
    cli = cliFor(t, "demo");
  }, 180_000);
  afterAll(async () => {
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("project create: 'Created' once, then 'already exists'; --json prints the project", async () => {
    const first = await cli(["project", "create", "demo", "--description", "CLI tests"]);
    expect(first).toMatchObject({ code: 0, stdout: "Created project demo\n", stderr: "" });
    const again = await cli(["project", "create", "demo", "--json"]);
    expect(again.code).toBe(0);
    expect(json(again)).toMatchObject({ name: "demo", description: "CLI tests" });
    expect((await cli(["project", "create", "demo"])).stdout).toBe("Project demo already exists\n");
  });

  it("publishes a prompt from markdown with its placeholders declared; the same text again is the same version", async () => {
    const file = path.join(dir, "answer.md");
    await writeFile(file, "You answer {{question}} for {{ user.name }}.\nBe brief, {{question}}.\n");
    const first = await cli(["publish", "prompt", "answer", "--file", file, "--annotation", "git=abc123", "--annotation", "owner=search"]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^Published prompt\/answer version 1 \(sha256:[0-9a-f]{12}\)\n$/);

    const stored = await (await t.request("GET", "/v1/projects/demo/artifacts/prompt/answer/versions/1")).json();
    expect(stored.content).toEqual({ template: "You answer {{question}} for {{ user.name }}.\nBe brief, {{question}}.\n", variables: ["question", "user.name"] });
    expect(stored.annotations).toEqual({ git: "abc123", owner: "search" });

    const again = await cli(["publish", "prompt", "answer", "--file", file, "--annotation", "git=abc123", "--annotation", "owner=search", "--json"]);
    expect(again.code).toBe(0);
    expect(json(again)).toMatchObject({ kind: "prompt", name: "answer", version: 1, digest: stored.digest });
    const unchanged = await cli(["publish", "prompt", "answer", "--file", file]);
    expect(unchanged.stdout).toMatch(/^Unchanged: prompt\/answer version 1 /);
  });

  it("publishes .yaml and .json files as the content, as is", async () => {
    await writeFile(path.join(dir, "chat.yaml"), "provider: openai\nmodel: gpt-4o-mini\nparams:\n  temperature: 0.2\n");
    await writeFile(path.join(dir, "flags.json"), JSON.stringify({ values: { retries: 3, mode: "safe" } }));
    const model = await cli(["publish", "model", "chat", "--file", path.join(dir, "chat.yaml"), "--json"]);
    const config = await cli(["publish", "config", "flags", "--file", path.join(dir, "flags.json"), "--json"]);
    expect([model.code, config.code]).toEqual([0, 0]);
    const m = await (await t.request("GET", `/v1/projects/demo/artifacts/model/chat/versions/${json(model).version}`)).json();
    expect(m.content).toEqual({ provider: "openai", model: "gpt-4o-mini", params: { temperature: 0.2 } });
    const c = await (await t.request("GET", "/v1/projects/demo/artifacts/config/flags/versions/latest")).json();
    expect(c.content).toEqual({ values: { retries: 3, mode: "safe" } });
  });

  it("prints a rejected publish as one line with detail, field errors, code and trace id (exit 1)", async () => {
    await writeFile(path.join(dir, "bad.json"), JSON.stringify({ schema: { type: "no-such-type" } }));
    const r = await cli(["publish", "contract", "answer", "--file", path.join(dir, "bad.json")]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^pinset: .+ \((validation_failed|unprocessable), trace [A-Za-z0-9._:-]+\)$/);
    expect(lines[0]).toMatch(/content\.schema/);
  });

  it("exits 4 for a project that does not exist and 1 for a bad token", async () => {
    await writeFile(path.join(dir, "cfg.json"), JSON.stringify({ values: { a: 1 } }));
    const missing = await cli(["publish", "config", "x", "--file", path.join(dir, "cfg.json"), "--project", "nope"]);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/^pinset: Project nope not found \(not_found, trace [^)]+\)\n$/);
    const denied = await cli(["publish", "config", "x", "--file", path.join(dir, "cfg.json")], { env: { PINSET_TOKEN: "wrong-token" } });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/\(unauthorized, trace /);
  });

  it("project create with a token limited to other projects says so (exit 4), instead of 'Project … not found'", async () => {
    const created = await t.request("POST", "/v1/tokens", { body: { name: "demo publisher", scopes: ["publish"], projects: ["demo"] } });
    const { token } = (await created.json()) as { token: string };
    const r = await cli(["project", "create", "other"], { env: { PINSET_TOKEN: token } });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^pinset: Cannot create project other: this token is limited to other projects, and creating a project takes an admin token \(they cover every project\) \(not_found, trace [^)]+\)\n$/);
    expect(r.stderr).not.toMatch(/Project other not found/);
    // A token that names the project but lacks admin gets the registry's own words (exit 1).
    const named = await cli(["project", "create", "demo"], { env: { PINSET_TOKEN: token } });
    expect(named.code).toBe(1);
    expect(named.stderr).toMatch(/needs the admin scope, which the token does not have \(forbidden, /);
  });

  it("flags win over PINSET_* variables", async () => {
    const r = await runCli(["project", "create", "flags-win", "--url", t.url, "--token", ADMIN_TOKEN], { env: { PINSET_URL: "http://127.0.0.1:9", PINSET_TOKEN: "wrong" } });
    expect(r).toMatchObject({ code: 0, stdout: "Created project flags-win\n" });
  });

  it("pinset/client: resolves from plain Node through the package's exports and talks to the registry, typed errors included", async () => {
    const script = `
      const { createClient, createResolver, unwrap, PinsetApiError } = await import("pinset/client");
      const client = createClient({ url: process.env.URL, token: process.env.TOKEN });
      const created = await unwrap(client.PUT("/v1/projects/{project}", { params: { path: { project: "sdk" } }, body: {} }));
      const list = await unwrap(client.GET("/v1/projects"));
      let error;
      try { await unwrap(client.GET("/v1/projects/{project}/environments/{env}", { params: { path: { project: "nope", env: "x" } } })); } catch (e) { error = e; }
      console.log(JSON.stringify({ created: created.name, listed: list.items.some((p) => p.name === "sdk"), error: error instanceof PinsetApiError && [error.status, error.code, typeof error.traceId], resolver: typeof createResolver }));
    `;
    const r = await runNode(["--input-type=module", "-e", script], { cwd: ROOT, env: { URL: t.url, TOKEN: ADMIN_TOKEN } });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ created: "sdk", listed: true, error: [404, "not_found", "string"], resolver: "function" });
  });
});
