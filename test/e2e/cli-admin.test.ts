import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exponentialBackoff } from "../../src/webhooks/backoff.js";
import { content } from "../support/builders.js";
import { makeSets } from "../support/rollouts.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";
import { cliFor, ensureCliBuilt, json } from "./cli-support.js";

/**
 * What an engineer or an admin reads and manages from the command line: ls, tokens, the audit
 * log and webhooks, through the real binary against a real registry (with its delivery worker).
 */
describe.each(backends().slice(0, 1))("pinset ls, token, audit and webhook commands on $name", (backend) => {
  let t: TestApp;
  let cli: ReturnType<typeof cliFor>;
  let dir: string;
  let receiver: Server;
  let receiverUrl: string;
  const received: { event: string; body: string }[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = "";
      req.setEncoding("utf8").on("data", (d: string) => (body += d));
      req.on("end", () => {
        received.push({ event: String(req.headers["x-pinset-event"]), body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    [t, dir] = await Promise.all([
      startTestApp(backend, { background: true, webhookDelivery: { schedule: exponentialBackoff({ baseMs: 150, maxAttempts: 3 }), pollIntervalMs: 40, timeoutMs: 2_000, leaseMs: 5_000 } }),
      mkdtemp(path.join(tmpdir(), "pinset-admin-")),
      ensureCliBuilt(),
    ]);
    for (const p of ["inv", "inv-other"]) expect((await t.request("PUT", `/v1/projects/${p}`)).status).toBe(201);
    cli = cliFor(t, "inv");
  }, 180_000);
  afterAll(async () => {
    await t?.close();
    await new Promise((r) => receiver?.close(r));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("ls artifacts: kinds and names with their latest version; --kind, --prefix, paging and --all; exit 4 for another project's token", async () => {
    const empty = await cli(["ls", "artifacts"]);
    expect(empty).toMatchObject({ code: 0, stdout: "No artifacts in inv yet: pinset publish <kind> <name> --file <path>\n" });
    for (const [kind, name, body] of [
      ["prompt", "answer", content.prompt("v1 {{question}}")],
      ["prompt", "answer", content.prompt("v2 {{question}}")],
      ["prompt", "answer-short", content.prompt("short {{question}}")],
      ["model", "chat", content.model()],
      ["config", "flags", content.config()],
    ] as const) {
      expect((await t.request("POST", `/v1/projects/inv/artifacts/${kind}/${name}`, { body: { content: body } })).status).toBe(201);
    }
    const human = await cli(["ls", "artifacts"]);
    expect(human.code, human.stderr).toBe(0);
    const lines = human.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^KIND\s+NAME\s+LATEST\s+DIGEST\s+PUBLISHED$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3).join(" "))).toEqual(["config flags 1", "model chat 1", "prompt answer 2", "prompt answer-short 1"]);
    expect(lines[3]).toMatch(/^prompt\s+answer\s+2\s+sha256:[0-9a-f]{12}\s+\d{4}-\d{2}-\d{2}T/);

    const prompts = json<{ items: { name: string; version: number; digest: string }[] }>(await cli(["ls", "artifacts", "--kind", "prompt", "--prefix", "answer-", "--json"]));
    expect(prompts.items.map((i) => [i.name, i.version])).toEqual([["answer-short", 1]]);
    const page = await cli(["ls", "artifacts", "--limit", "2"]);
    expect(page.stdout).toMatch(/\(more: --cursor \S+, or --all\)\n$/);
    const cursor = /--cursor (\S+),/.exec(page.stdout)![1]!;
    expect(json<{ items: { name: string }[] }>(await cli(["ls", "artifacts", "--limit", "2", "--cursor", cursor, "--json"])).items.map((i) => i.name)).toEqual(["answer", "answer-short"]);
    const all = json<{ items: unknown[]; next_cursor: null }>(await cli(["ls", "artifacts", "--all", "--limit", "1", "--json"]));
    expect([all.items.length, all.next_cursor]).toEqual([4, null]);
    expect((await cli(["ls", "artifacts", "--kind", "tools"])).stdout).toBe("No artifacts match\n");

    const created = await t.request("POST", "/v1/tokens", { body: { name: "other team", scopes: ["read"], projects: ["inv-other"] } });
    const { token } = (await created.json()) as { token: string };
    const hidden = await cli(["ls", "artifacts"], { env: { PINSET_TOKEN: token } });
    expect(hidden.code).toBe(4);
    expect(hidden.stderr).toMatch(/^pinset: Project inv not found \(not_found, /);
    // That token sees only its own project in ls projects.
    expect(json<{ items: { name: string }[] }>(await cli(["ls", "projects", "--json"], { env: { PINSET_TOKEN: token } })).items.map((p) => p.name)).toEqual(["inv-other"]);
  }, 120_000);

  it("ls projects, envs and sets: tables (newest first), --json as the API answers", async () => {
    const projects = await cli(["ls", "projects"]);
    expect(projects.stdout).toMatch(/^NAME\s+CREATED\s+DESCRIPTION\ninv-other\s.*\ninv\s/);
    expect((await cli(["ls", "envs"])).stdout).toBe("No environments in inv yet: pinset env create <env>\n");
    const [a, b] = (await makeSets(t, "inv", 2)) as [string, string];
    await cli(["env", "create", "staging"]);
    await cli(["env", "create", "production", "--protected"]);
    await cli(["deploy", "staging", b]);
    const envs = await cli(["ls", "envs"]);
    expect(envs.stdout).toMatch(new RegExp(`^NAME\\s+ACTIVE\\s+REV\\s+FLAGS\\s+UPDATED\\s+ROLLOUT\\nproduction\\s+-\\s+0\\s+protected\\s+\\S+\\nstaging\\s+${b}\\s+1\\s+-\\s+\\S+\\n$`));
    const sets = await cli(["ls", "sets"]);
    expect(sets.stdout).toMatch(new RegExp(`^ID\\s+CREATED\\s+CODE\\s+SUMMARY\\n${b}\\s.*\\n${a}\\s`));
    expect(json<{ items: { id: string }[] }>(await cli(["ls", "sets", "--limit", "1", "--json"]))).toMatchObject({ items: [{ id: b }], next_cursor: expect.any(String) });
    expect((await cli(["ls", "envs", "-p", "nope"])).code).toBe(4);
  }, 120_000);

  it("token create / ls / revoke: the secret once on stdout, working until revoked", async () => {
    const created = await cli(["token", "create", "ci-inv", "--scope", "publish,deploy", "--envs", "staging", "--expires-in", "30d"]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^pst_\S+\n$/);
    expect(created.stderr).toMatch(/^Created token (tok_\S+) "ci-inv" \(publish,deploy on inv \/ staging, expires \S+\); the secret below is shown only now\n$/);
    const secret = created.stdout.trim();
    const id = /Created token (tok_\S+)/.exec(created.stderr)![1]!;
    // The new token works (the current project was its default) and sees only staging.
    const asCi = await cli(["ls", "envs", "--json"], { env: { PINSET_TOKEN: secret } });
    expect(json<{ items: { name: string }[] }>(asCi).items.map((e) => e.name)).toEqual(["staging"]);

    const listed = await cli(["token", "ls"]);
    expect(listed.stdout).toMatch(/^ID\s+NAME\s+SCOPES\s+PROJECTS\s+ENVS\s+EXPIRES\s+STATE\n/);
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+ci-inv\\s+publish,deploy\\s+inv\\s+staging\\s+\\S+\\s+active\\n`));
    expect(listed.stdout).not.toContain(secret);
    const asJson = json<{ items: { id: string; token?: string }[] }>(await cli(["token", "ls", "--all", "--json"]));
    expect(asJson.items.find((i) => i.id === id)).toBeDefined();
    expect(JSON.stringify(asJson)).not.toContain(secret);

    const full = json<{ id: string; token: string; scopes: string[]; projects: string[] }>(await cli(["token", "create", "readers", "--scope", "read", "--projects", "*", "--json"]));
    expect(full).toMatchObject({ scopes: ["read"], projects: ["*"], token: expect.stringMatching(/^pst_/) });

    expect(await cli(["token", "revoke", id])).toMatchObject({ code: 0, stdout: `Revoked token ${id}\n` });
    expect((await cli(["ls", "envs"], { env: { PINSET_TOKEN: secret } })).code).toBe(1);
    expect(json<{ items: { id: string; revoked_at: string | null }[] }>(await cli(["token", "ls", "--json"])).items.find((i) => i.id === id)?.revoked_at).toEqual(expect.any(String));
    expect((await cli(["token", "ls"])).stdout).toMatch(new RegExp(`${id}\\s.*\\srevoked\\n`));
    expect((await cli(["token", "revoke", "tok_bootstrap_admin"])).code).toBe(3);
    // Only an admin token manages tokens: the registry's 403 is exit 1.
    const denied = await cli(["token", "ls"], { env: { PINSET_TOKEN: full.token } });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/\(forbidden, trace /);
    const bad = await cli(["token", "create", "x", "--scope", "admin", "--projects", "inv"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/\(validation_failed, trace /);
  }, 120_000);

  it("audit: filters by action and time; --all-projects adds entries of no project", async () => {
    const deploys = await cli(["audit", "--action", "environment.deploy"]);
    expect(deploys.code, deploys.stderr).toBe(0);
    const lines = deploys.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^AT\s+ACTOR\s+ACTION\s+TARGET\s+TRACE$/);
    expect(lines.slice(1)).toHaveLength(1);
    expect(lines[1]).toMatch(/\senvironment\.deploy\s+environment\/staging\s+[0-9a-f]{32}$/);
    const recent = json<{ items: { action: string }[] }>(await cli(["audit", "--since", "1h", "--json"]));
    expect(recent.items.map((e) => e.action)).toContain("artifact.publish");
    expect(json<{ items: unknown[] }>(await cli(["audit", "--until", "2000-01-01T00:00:00Z", "--json"])).items).toEqual([]);
    const tokens = await cli(["audit", "--all-projects", "--action", "token.revoke"]);
    expect(tokens.stdout).toMatch(/^AT\s+PROJECT\s+ACTOR\s+ACTION\s+TARGET\s+TRACE\n\S+\s+-\s+.*token\.revoke\s+token\/tok_/);
    const page = await cli(["audit", "--limit", "1"]);
    expect(page.stdout).toMatch(/\(more: --cursor \S+, or --all\)\n$/);
  }, 120_000);

  it("webhook add / ls / deliveries / rm: the secret from stdin, real deliveries listed, never the secret", async () => {
    const secret = "cli-webhook-secret-0123456789abcdef";
    const added = await cli(["webhook", "add", receiverUrl, "--event", "environment.changed,artifact.published", "--secret-file", "-"], { stdin: `${secret}\n` });
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(new RegExp(`^Added webhook (wh_\\S+): environment\\.changed, artifact\\.published → ${receiverUrl.replaceAll("/", "\\/")}\\n$`));
    const id = /Added webhook (\S+):/.exec(added.stdout)![1]!;
    const file = path.join(dir, "hook.secret");
    await writeFile(file, `${secret}\n`);
    const second = json<{ id: string }>(await cli(["webhook", "add", receiverUrl, "--event", "version_set.created", "--secret-file", file, "--json"]));

    const listed = await cli(["webhook", "ls"]);
    expect(listed.stdout).toMatch(new RegExp(`^ID\\s+EVENTS\\s+CREATED\\s+URL\\n`));
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).not.toContain(secret);
    expect((await cli(["webhook", "deliveries", id])).stdout).toBe(`No delivery attempts for ${id} yet\n`);

    const [set] = await makeSets(t, "inv", 1, "hooked");
    expect((await cli(["deploy", "staging", set!])).code).toBe(0);
    let attempts: { event: string; status_code: number | null; attempt: number }[] = [];
    for (let i = 0; i < 100 && !attempts.some((a) => a.event === "environment.changed"); i++) {
      await new Promise((r) => setTimeout(r, 100));
      attempts = json<{ items: typeof attempts }>(await cli(["webhook", "deliveries", id, "--json"])).items;
    }
    expect(attempts.find((a) => a.event === "environment.changed")).toMatchObject({ status_code: 200, attempt: 1 });
    expect(received.some((r) => r.event === "environment.changed")).toBe(true);
    const table = await cli(["webhook", "deliveries", id]);
    expect(table.stdout).toMatch(/^AT\s+EVENT\s+ATTEMPT\s+STATUS\s+RESULT\s+DELIVERY\n/);
    expect(table.stdout).toMatch(/\senvironment\.changed\s+1\s+200\s+ok\s+\S+/);

    expect(await cli(["webhook", "rm", second.id])).toMatchObject({ code: 0, stdout: `Removed webhook ${second.id}\n` });
    const gone = await cli(["webhook", "rm", second.id]);
    expect(gone.code).toBe(4);
    expect(json<{ items: { id: string }[] }>(await cli(["webhook", "ls", "--json"])).items.map((h) => h.id)).toEqual([id]);
  }, 120_000);
});
