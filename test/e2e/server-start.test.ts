import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnServer } from "../support/spawn-server.js";

describe("npm start on the embedded default", () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "pinset-start-"));
  });
  afterAll(async () => rm(dataDir, { recursive: true, force: true }));

  it("prints where it listens and the admin token once, keeps data across restarts, and refuses a second process", async () => {
    const first = await spawnServer({ PINSET_DATA_DIR: dataDir });
    try {
      expect(first.stdout()).toContain(`Pinset listening on ${first.url}`);
      const token = /admin token \(shown once.*\):\n\s+(pst_\S+)/.exec(first.stdout())?.[1];
      expect(token).toBeDefined();
      expect((await readFile(path.join(dataDir, "admin-token"), "utf8")).trim()).toBe(token);
      expect((await stat(path.join(dataDir, "admin-token"))).mode & 0o777).toBe(0o600);

      const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      expect((await fetch(`${first.url}/v1/projects/keep`, { method: "PUT", headers: auth })).status).toBe(201);
      const published = await fetch(`${first.url}/v1/projects/keep/artifacts/config/app`, { method: "POST", headers: auth, body: JSON.stringify({ content: { values: { a: 1 } } }) });
      expect(published.status).toBe(201);

      // A second process on the same data directory must refuse, not corrupt it.
      const second = await spawnServer({ PINSET_DATA_DIR: dataDir }, { waitForListen: false });
      expect(await second.exited).toBe(1);
      expect(second.stderr()).toMatch(/data directory .* is in use by another Pinset process/);
    } finally {
      expect(await first.stop()).toBe(0);
    }

    const restarted = await spawnServer({ PINSET_DATA_DIR: dataDir });
    try {
      expect(restarted.stdout()).not.toMatch(/pst_/);
      expect(restarted.stdout()).toContain("admin-token");
      const token = (await readFile(path.join(dataDir, "admin-token"), "utf8")).trim();
      const res = await fetch(`${restarted.url}/v1/projects/keep/artifacts/config/app/versions/1`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect((await res.json()).content).toEqual({ values: { a: 1 } });
    } finally {
      await restarted.stop();
    }
  }, 120_000);

  it("stops with one clear message listing every configuration problem", async () => {
    const bad = await spawnServer({ PINSET_DATA_DIR: dataDir, PORT: "99999", LOG_LEVEL: "loud", DATABASE_URL: "mysql://x" }, { waitForListen: false });
    expect(await bad.exited).toBe(1);
    expect(bad.stderr()).toMatch(/Invalid configuration/);
    for (const name of ["PORT", "LOG_LEVEL", "DATABASE_URL"]) expect(bad.stderr()).toContain(name);
    expect(bad.stderr()).not.toMatch(/\n\s+at .+:\d+/);
  });
});
