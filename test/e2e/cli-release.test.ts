import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { content } from "../support/builders.js";
import { ADMIN_TOKEN, backends, startTestApp, type TestApp } from "../support/test-app.js";
import { cliFor, ensureCliBuilt, json, ROOT, runNode } from "./cli-support.js";

const ANSI = /\u001b\[/;
const MANIFEST = `# what the repo pins
project: rel
description: support bot \${GIT_COMMIT}
code:
  repo: github.com/acme/support-bot
  commit: \${GIT_COMMIT}
components:
  prompt.system: prompt/answer@latest
  model.main: model/chat@latest
  contract.output: contract/answer@latest
  config.flags: config/flags@\${FLAGS_VERSION:-1}
`;

/**
 * The release path a pipeline and an on-call engineer walk: environments, a version set from
 * the repo's manifest, deploy with compare-and-swap, history, resolve (now and in the past),
 * rollback, and diff — every command through the real binary. The CLI is a client of the HTTP
 * contract, so one backend is enough here; the server's behaviour on Postgres + S3 is covered
 * by the integration tests (the index publish e2e runs on both: it streams blobs into S3).
 */
describe.each(backends().slice(0, 1))("pinset release commands on $name", (backend) => {
  let t: TestApp;
  let cli: ReturnType<typeof cliFor>;
  let dir: string;
  let manifestFile: string;
  let set1: string;
  let set2: string;
  let betweenDeploys: string;

  const publish = async (kind: string, name: string, body: unknown) => {
    const res = await t.request("POST", `/v1/projects/rel/artifacts/${kind}/${name}`, { body: { content: body } });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
  };

  beforeAll(async () => {
    [t, dir] = await Promise.all([startTestApp(backend), mkdtemp(path.join(tmpdir(), "pinset-release-")), ensureCliBuilt()]);
    cli = cliFor(t, "rel");
    expect((await t.request("PUT", "/v1/projects/rel")).status).toBe(201);
    await publish("prompt", "answer", content.prompt("Answer {{question}} politely.\nCite sources.\n"));
    await publish("model", "chat", content.model({ temperature: 0.2 }));
    await publish("contract", "answer", content.contract({ type: "object", required: ["answer"], properties: { answer: { type: "string" } }, additionalProperties: false }));
    await publish("config", "flags", content.config({ retries: 3 }));
    manifestFile = path.join(dir, "pinset.yaml");
    await writeFile(manifestFile, MANIFEST);
  }, 180_000);
  afterAll(async () => {
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("env create / env show: a plain and a protected environment", async () => {
    const staging = await cli(["env", "create", "staging"]);
    expect(staging).toMatchObject({ code: 0, stdout: "Created environment staging\n" });
    const prod = await cli(["env", "create", "production", "--protected"]);
    expect(prod).toMatchObject({ code: 0, stdout: "Created environment production (protected)\n" });
    expect((await cli(["env", "create", "staging"])).stdout).toBe("Environment staging already exists\n");
    const shown = await cli(["env", "show", "production", "--json"]);
    expect(json(shown)).toMatchObject({ name: "production", active: null, revision: 0, protected: true });
    const human = await cli(["env", "show", "staging"]);
    expect(human.stdout).toMatch(/^staging\n\s+active\s+\(nothing deployed\)\n\s+revision\s+0\n/);
  });

  it("set create: refuses an unset ${VAR} naming it (exit 2), then prints only the ID", async () => {
    const unset = await cli(["set", "create", "--file", manifestFile]);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/environment variable not set: \$\{GIT_COMMIT\} \(at description\)/);
    expect(await (await t.request("GET", "/v1/projects/rel/version-sets")).json()).toMatchObject({ items: [] });

    const created = await cli(["set", "create", "--file", manifestFile], { env: { GIT_COMMIT: "9fceb02" } });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^vs_[0-9a-f]{24}\n$/);
    set1 = created.stdout.trim();
    const again = await cli(["set", "create", "--file", manifestFile, "--json"], { env: { GIT_COMMIT: "9fceb02" } });
    expect(json(again)).toMatchObject({ id: set1, code: { repo: "github.com/acme/support-bot", commit: "9fceb02" }, description: "support bot 9fceb02" });

    const otherProject = await cli(["set", "create", "--file", manifestFile, "--project", "other"], { env: { GIT_COMMIT: "9fceb02" } });
    expect(otherProject.code).toBe(2);
    expect(otherProject.stderr).toMatch(/is for project rel but the project given is other/);
  });

  it("set show: the pinned components, code and summary; exit 4 for an unknown ID", async () => {
    const human = await cli(["set", "show", set1]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(set1);
    expect(human.stdout).toContain("code         github.com/acme/support-bot@9fceb02");
    expect(human.stdout).toMatch(/prompt\.system\s+prompt\/answer\s+1\s+sha256:[0-9a-f]{12}/);
    expect(human.stdout).toMatch(/config\.flags\s+config\/flags\s+1\s+/);
    const asJson = json<{ components: Record<string, { version: number }> }>(await cli(["set", "show", set1, "--json"]));
    expect(Object.keys(asJson.components).sort()).toEqual(["config.flags", "contract.output", "model.main", "prompt.system"]);
    const missing = await cli(["set", "show", "vs_000000000000000000000000"]);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/^pinset: .*not found.* \(not_found, trace [^)]+\)\n$/);
  });

  it("deploy: switches staging; a stale --expect-revision is a conflict (exit 3) and changes nothing", async () => {
    const first = await cli(["deploy", "staging", set1, "--reason", "first build"]);
    expect(first).toMatchObject({ code: 0, stdout: `Deployed ${set1} to staging (revision 1)\n` });
    betweenDeploys = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));

    await publish("prompt", "answer", content.prompt("Answer {{question}} kindly.\nCite sources.\n"));
    await publish("model", "chat", content.model({ temperature: 0.7 }));
    await publish("contract", "answer", content.contract({ type: "object", properties: { answer: { type: "string" } } }));
    const created = await cli(["set", "create", "--file", manifestFile], { env: { GIT_COMMIT: "def4567" } });
    set2 = created.stdout.trim();
    expect(set2).toMatch(/^vs_/);
    expect(set2).not.toBe(set1);

    const stale = await cli(["deploy", "staging", set2, "--expect-revision", "0"]);
    expect(stale.code).toBe(3);
    expect(stale.stderr).toMatch(/^pinset: .+ \(conflict, trace [^)]+\)\n$/);
    expect(json(await cli(["env", "show", "staging", "--json"]))).toMatchObject({ active: set1, revision: 1 });

    const cas = await cli(["deploy", "staging", set2, "--expect-revision", "1", "--json"]);
    expect(json(cas)).toMatchObject({ active: set2, revision: 2, changed: true });
    // The set already active: said so, and nothing is written (no revision, history or audit).
    const audited = (await (await t.request("GET", "/v1/projects/rel/audit?action=environment.deploy")).json()).items.length;
    const same = await cli(["deploy", "staging", set2, "--reason", "retry of the pipeline"]);
    expect(same).toMatchObject({ code: 0, stdout: `${set2} is already active in staging: nothing changed (revision 2)\n` });
    expect(json(await cli(["deploy", "staging", set2, "--json"]))).toEqual({ active: set2, revision: 2, previous: set2, changed: false });
    expect(json(await cli(["env", "show", "staging", "--json"]))).toMatchObject({ active: set2, revision: 2 });
    expect((await (await t.request("GET", "/v1/projects/rel/audit?action=environment.deploy")).json()).items).toHaveLength(audited);
    const unknownEnv = await cli(["deploy", "nowhere", set2]);
    expect(unknownEnv.code).toBe(4);
  }, 120_000);

  it("history: newest first, with actions, sets, actor and reason", async () => {
    const human = await cli(["history", "staging"]);
    expect(human.code).toBe(0);
    const lines = human.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^REV\s+ACTION\s+VERSION SET\s+PREVIOUS\s+ACTOR\s+AT\s+REASON$/);
    expect(lines[1]).toMatch(new RegExp(`^2\\s+deploy\\s+${set2}\\s+${set1}\\s`));
    expect(lines[2]).toMatch(new RegExp(`^1\\s+deploy\\s+${set1}\\s+-\\s.*first build$`));
    const page = json<{ items: { revision: number }[] }>(await cli(["history", "staging", "--limit", "1", "--json"]));
    expect(page.items.map((e) => e.revision)).toEqual([2]);
  });

  it("resolve: the active bundle now, and what was active at a past time", async () => {
    const now = await cli(["resolve", "staging", "--json"]);
    const bundle = json<{ id: string; components: Record<string, { content: unknown }> }>(now);
    expect(bundle.id).toBe(set2);
    expect(bundle.components["model.main"]!.content).toMatchObject({ params: { temperature: 0.7 } });
    const human = await cli(["resolve", "staging", "--subject", "tenant-42"]);
    expect(human.stdout).toMatch(new RegExp(`^staging → ${set2}`));
    expect(human.stdout).toMatch(/model\.main\s+model\/chat\s+2/);
    const past = await cli(["resolve", "staging", "--at", betweenDeploys, "--json"]);
    expect(json(past)).toMatchObject({ id: set1 });
    const nothing = await cli(["resolve", "production"]);
    expect(nothing.code).toBe(4);
    expect(nothing.stderr).toMatch(/no active version set/);
  });

  it("diff: per-slot sections with the prompt's unified diff, breaking contract changes and a → b fields", async () => {
    const r = await cli(["diff", set1, set2]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(ANSI);
    expect(r.stdout).toMatch(new RegExp(`^${set1} → ${set2}\n3 changed, 0 added, 0 removed, 1 unchanged\n`));
    expect(r.stdout).toMatch(/~ prompt\.system {2}prompt\/answer@1 → prompt\/answer@2\n/);
    expect(r.stdout).toMatch(/\n {4}@@ .* @@\n/);
    expect(r.stdout).toContain("\n    -Answer {{question}} politely.\n    +Answer {{question}} kindly.\n");
    expect(r.stdout).toMatch(/~ contract\.output {2}contract\/answer@1 → contract\/answer@2 {2}BREAKING\n( {4}.*\n)*? {4}✗ .*\(breaking\)/);
    expect(r.stdout).toContain("    params.temperature: 0.2 → 0.7\n");
    expect(r.stdout).toContain("unchanged: config.flags");

    const byEnv = json<{ from: string; to: string; components: { slot: string; change: string }[] }>(await cli(["diff", "staging", set1, "--json"]));
    expect(byEnv).toMatchObject({ from: set2, to: set1 });
    expect(byEnv.components.find((c) => c.slot === "model.main")?.change).toBe("changed");
  });

  it("diff: a prompt from a file and the same text from the API differ only in the final newline, shown as no text change", async () => {
    const file = path.join(dir, "greeting.md");
    await writeFile(file, "Hello {{name}}.\nBe brief.\n");
    expect((await cli(["publish", "prompt", "greeting", "--file", file])).code).toBe(0);
    await publish("prompt", "greeting", content.prompt("Hello {{name}}.\nBe brief.", ["name"]));
    const make = async (ref: string) => json<{ id: string }>(await cli(["set", "create", "--file", await manifestFor(ref), "--json"])).id;
    const manifestFor = async (ref: string) => {
      const f = path.join(dir, `greeting-${ref}.yaml`);
      await writeFile(f, `components:\n  prompt.greeting: prompt/greeting@${ref}\n`);
      return f;
    };
    const [fromFile, fromApi] = [await make("1"), await make("2")];
    const r = await cli(["diff", fromFile, fromApi]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("~ prompt.greeting  prompt/greeting@1 → prompt/greeting@2\n    (text unchanged; only trailing newlines differ)\n");
    expect(r.stdout).not.toContain("No newline at end of file");
    const detail = json<{ components: { detail: unknown }[] }>(await cli(["diff", fromFile, fromApi, "--json"])).components[0]!.detail;
    expect(detail).toEqual({ unified: "", variables: { added: [], removed: [] }, trailing_newlines_differ: true });
  }, 120_000);

  it("diff: colour on a terminal, none with NO_COLOR", async () => {
    const env = { PINSET_URL: t.url, PINSET_TOKEN: ADMIN_TOKEN, PINSET_PROJECT: "rel" };
    const inTty = (extra: Record<string, string>) =>
      runNode(["-e", `require("child_process").execFileSync("script", ["-qec", "node bin/pinset.js diff ${set1} ${set2}", "/dev/null"], { stdio: "inherit" })`], { cwd: ROOT, env: { ...env, ...extra } });
    const coloured = await inTty({});
    expect(coloured.stdout).toContain("\u001b[31m-Answer {{question}} politely.");
    expect(coloured.stdout).toContain("\u001b[32m+Answer {{question}} kindly.");
    const plain = await inTty({ NO_COLOR: "1" });
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toMatch(ANSI);
    expect(plain.stdout).toContain("params.temperature: 0.2 → 0.7");
  });

  it("rollback: back to the previous set, or --to one; a conflict (exit 3) when there is none", async () => {
    const back = await cli(["rollback", "staging", "--reason", "answers regressed"]);
    expect(back).toMatchObject({ code: 0, stdout: `Rolled back staging to ${set1} (revision 3)\n` });
    const to = await cli(["rollback", "staging", "--to", set2, "--json"]);
    expect(json(to)).toMatchObject({ active: set2, revision: 4 });
    const history = json<{ items: { action: string; reason: string | null }[] }>(await cli(["history", "staging", "--json"]));
    expect(history.items[1]).toMatchObject({ action: "rollback", reason: "answers regressed" });

    await cli(["deploy", "production", set1]);
    const none = await cli(["rollback", "production"]);
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/no earlier version set/);
  });
});
