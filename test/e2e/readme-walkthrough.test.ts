import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, spawnServer, type SpawnedServer } from "../support/spawn-server.js";

const run = promisify(execFile);

/**
 * The README's curl walkthrough is the front door: run it, as written, against a real
 * `npm start` server, so the README cannot drift from what the registry does.
 */
describe("README curl walkthrough", () => {
  let dir: string;
  let server: SpawnedServer;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "pinset-readme-"));
    server = await spawnServer({ PINSET_DATA_DIR: path.join(dir, ".pinset") });
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("publishes, pins, deploys, diffs and rolls back exactly as the README shows", async () => {
    const readme = await readFile(path.join(REPO_ROOT, "README.md"), "utf8");
    const block = /```sh\n(export PINSET_URL=[\s\S]*?)```/.exec(readme)?.[1];
    expect(block, "the walkthrough block starting with `export PINSET_URL=`").toBeDefined();
    const script = `set -euo pipefail\n${block!.replace("http://127.0.0.1:8080", server.url)}`;
    await writeFile(path.join(dir, "walkthrough.sh"), script);
    const { stdout } = await run("bash", [path.join(dir, "walkthrough.sh")], { cwd: dir, timeout: 60_000 });

    // The last command prints the history: rollback on top of two deploys.
    const history = JSON.parse(stdout.slice(stdout.lastIndexOf('{"items"')));
    expect(history.items.map((e: { action: string }) => e.action)).toEqual(["rollback", "deploy", "deploy"]);
    expect(history.items[0].version_set).toBe(history.items[2].version_set);
    expect(history.items[0].reason).toBe("refund answers got worse");
    // The diff printed on the way shows the temperature change and a unified prompt diff.
    expect(stdout).toContain('"field":"params.temperature","from":0.2,"to":0.7');
    expect(stdout).toMatch(/"unified":"--- a\/system\\n\+\+\+ b\/system\\n@@/);
  }, 90_000);
});
