import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CACHE_FORMAT, readCacheFile, writeCacheFile, type CacheRecord } from "../../src/client/cache-file.js";

const key = { project: "demo", environment: "prod", subject: null };

function record(versionSet: string, extra: Partial<CacheRecord> = {}): CacheRecord {
  return {
    format: CACHE_FORMAT,
    ...key,
    version_set: versionSet,
    etag: `"${versionSet}"`,
    assignment: null,
    saved_at: "2026-01-01T00:00:00.000Z",
    bundle: { id: versionSet, components: { cfg: { content: { values: { big: "x".repeat(200_000) } } } } },
    ...extra,
  };
}

describe("resolver cache file", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "pinset-cache-file-"));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("round-trips a record, readable only by its owner (0600), leaving no temporary file", async () => {
    const file = path.join(dir, "a.json");
    await writeCacheFile(file, record("vs_a"));
    expect(await readCacheFile(file, key)).toEqual({ ok: true, record: record("vs_a") });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(["a.json"]);
  });

  it("replaces the file atomically: a concurrent reader only ever sees a whole old or new record", async () => {
    const file = path.join(dir, "b.json");
    await writeCacheFile(file, record("vs_0"));
    let writing = true;
    const seen = new Set<string>();
    const reader = (async () => {
      while (writing) {
        const result = await readCacheFile(file, key);
        if (!result.ok) throw new Error(`torn read: ${result.reason}`);
        seen.add(result.record.version_set);
      }
    })();
    for (let i = 1; i <= 30; i++) await writeCacheFile(file, record(`vs_${i}`));
    writing = false;
    await reader;
    expect(seen.size).toBeGreaterThan(1);
    expect((await readCacheFile(file, key)).ok && (await readFile(file, "utf8")).includes('"vs_30"')).toBe(true);
    expect((await readdir(dir)).filter((f) => f.includes("b.json"))).toEqual(["b.json"]);
  });

  it("refuses a file written for another project, environment or subject, naming the difference", async () => {
    const file = path.join(dir, "c.json");
    await writeCacheFile(file, record("vs_a"));
    expect(await readCacheFile(file, { ...key, environment: "staging" })).toEqual({ ok: false, reason: `cache file ${file} was written for environment "prod", not "staging"` });
    expect(await readCacheFile(file, { ...key, subject: "user-1" })).toMatchObject({ ok: false, reason: expect.stringContaining('subject null, not "user-1"') });
  });

  it("says why a missing, corrupt or foreign file cannot be used", async () => {
    expect(await readCacheFile(path.join(dir, "missing.json"), key)).toMatchObject({ ok: false, reason: expect.stringContaining("does not exist") });
    const corrupt = path.join(dir, "corrupt.json");
    await writeFile(corrupt, '{"format":');
    expect(await readCacheFile(corrupt, key)).toMatchObject({ ok: false, reason: expect.stringContaining("not valid JSON") });
    const foreign = path.join(dir, "foreign.json");
    await writeFile(foreign, JSON.stringify({ ...record("vs_a"), format: "something-else" }));
    expect(await readCacheFile(foreign, key)).toMatchObject({ ok: false, reason: expect.stringContaining(`not a ${CACHE_FORMAT} file`) });
  });

  it("creates a missing directory (0700) for the file", async () => {
    const file = path.join(dir, "new", "deeper", "d.json");
    await writeCacheFile(file, record("vs_a"));
    expect(await readCacheFile(file, key)).toMatchObject({ ok: true, record: { version_set: "vs_a" } });
    expect((await stat(path.join(dir, "new"))).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(dir, "new", "deeper"))).mode & 0o777).toBe(0o700);
  });

  it("fails the write (and leaves nothing behind) when a file stands where the directory should be", async () => {
    const blocker = path.join(dir, "blocker");
    await writeFile(blocker, "x");
    await expect(writeCacheFile(path.join(blocker, "d.json"), record("vs_a"))).rejects.toThrow(`cannot create the folder ${blocker}: a file is in the way`);
    expect(await readFile(blocker, "utf8")).toBe("x");
  });
});
