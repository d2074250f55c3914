import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gcFixtures } from "../support/gc.js";
import { createToken } from "../support/tokens.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";
import { cliFor, ensureCliBuilt, json } from "./cli-support.js";

/** `pinset gc [--dry-run] [--project-only]` through the real binary (issue 18). */
describe.each(backends().slice(0, 1))("pinset gc on $name", (backend) => {
  let t: TestApp;
  let cli: ReturnType<typeof cliFor>;
  let f: ReturnType<typeof gcFixtures>;
  beforeAll(async () => {
    [t] = await Promise.all([startTestApp(backend), ensureCliBuilt()]);
    f = gcFixtures(t);
    await f.project("cli-gc");
    await f.project("cli-gc-2");
    cli = cliFor(t, "cli-gc");
  }, 180_000);
  afterAll(async () => t?.close());

  it("--dry-run reports and deletes nothing; the real run frees; --project-only stays in the project; exit 1 for a non-admin token", async () => {
    const old = await f.upload("cli-gc", randomBytes(1536));
    const other = await f.upload("cli-gc-2", randomBytes(100));
    await f.ageBlob(old.digest, 30);
    await f.ageBlob(other.digest, 30);

    const dry = await cli(["gc", "--dry-run", "--project-only"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^Dry run gc_[0-9a-f]{24}: would retire 0 index version\(s\), would free 1 blob\(s\), 1\.50 KiB\n/);
    expect(dry.stdout).toMatch(/PROJECT\s+RETIRED\s+BLOBS\s+BYTES\ncli-gc\s+0\s+1\s+1\.50 KiB/);
    expect((await f.storedDigests()).has(old.digest)).toBe(true);

    const run = json<{ state: string; report: { dry_run: boolean; project: string; total: { blobs: number; bytes: number } } }>(await cli(["gc", "--project-only", "--json"]));
    expect(run).toMatchObject({ state: "finished", report: { dry_run: false, project: "cli-gc", total: { blobs: 1, bytes: 1536 } } });
    const stored = await f.storedDigests();
    expect(stored.has(old.digest)).toBe(false);
    expect(stored.has(other.digest)).toBe(true);

    const all = await cli(["gc"]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/^Run gc_[0-9a-f]{24}: retired 0 index version\(s\), freed 1 blob\(s\), 100 B\n/);
    expect(all.stdout).toContain("Webhook housekeeping: 0 delivered outbox row(s), 0 attempt(s) pruned");

    const publisher = await createToken(t, { scopes: ["publish"], projects: ["cli-gc"] });
    const refused = await cli(["gc", "--dry-run"], { env: { PINSET_TOKEN: publisher.token } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^pinset: .*\(forbidden, trace [0-9a-f]+\)\n$/);
    const noProject = await cli(["gc", "--project-only"], { env: { PINSET_PROJECT: "" } });
    expect(noProject.code).toBe(2);
  });
});
