/**
 * From finding 9 of the hardening issue: a blob upload killed mid-way left its temporary file
 * forever. Abandoned uploads older than an hour are swept when the registry starts and hourly:
 * fs temporary files; incomplete S3 multipart uploads where the server can list them.
 */
import { S3Client, type ListMultipartUploadsCommandOutput } from "@aws-sdk/client-s3";
import http from "node:http";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FsBlobStore } from "../../src/blobs/fs.js";
import { createS3Client, S3BlobStore } from "../../src/blobs/s3.js";
import { UploadSweeper } from "../../src/blobs/upload-sweeper.js";
import { createLogger } from "../../src/logger.js";
import { startS3 } from "../support/s3.js";
import { spawnServer } from "../support/spawn-server.js";
import { LogCapture } from "../support/test-app.js";

const HOUR = 60 * 60_000;
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "pinset-sweep-"));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function age(file: string, ms: number): Promise<void> {
  const then = new Date(Date.now() - ms);
  await utimes(file, then, then);
}

describe("sweeping abandoned uploads", () => {
  it("fs: removes temporary files last written over an hour ago, keeps newer ones and committed blobs", async () => {
    const root = await tempDir();
    const store = new FsBlobStore(root);
    expect(await store.sweepAbandonedUploads(new Date())).toEqual({ removed: 0, supported: true });
    await store.put("blobs/sha256/ab/abcd", (async function* () { yield Buffer.from("kept"); })());
    await mkdir(path.join(root, "tmp"), { recursive: true });
    for (const [name, ms] of [["old-1", 2 * HOUR], ["old-2", HOUR + 60_000], ["fresh", 10 * 60_000]] as const) {
      await writeFile(path.join(root, "tmp", name), "partial");
      await age(path.join(root, "tmp", name), ms);
    }
    const logs = new LogCapture();
    const sweeper = new UploadSweeper(store, { logger: createLogger({ level: "info", destination: logs }) });
    await sweeper.sweep();
    expect((await readdir(path.join(root, "tmp"))).sort()).toEqual(["fresh"]);
    expect(await store.head("blobs/sha256/ab/abcd")).toEqual({ size: 4 });
    expect(logs.text).toMatch(/"removed":2.*removed abandoned uploads/);
  });

  it("fs: the temporary file of an upload killed with the process is swept when the registry starts again", async () => {
    const dataDir = await tempDir();
    const token = "upload-sweep-token-0123456789abcdef";
    const env = { PINSET_DATA_DIR: dataDir, PINSET_ADMIN_TOKEN: token, PINSET_RATE_LIMIT_RPS: "0" };
    const first = await spawnServer(env);
    cleanup.push(() => first.stop());
    expect((await fetch(`${first.url}/v1/projects/up`, { method: "PUT", headers: { authorization: `Bearer ${token}` } })).status).toBe(201);
    // An upload that sends 1 MiB of a declared 64 MiB, then stalls.
    const req = http.request(`${first.url}/v1/projects/up/blobs/sha256:${"0".repeat(64)}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream", "content-length": String(64 * 1024 * 1024) },
    });
    req.on("error", () => {});
    req.write(Buffer.alloc(1024 * 1024, 1));
    const tmp = path.join(dataDir, "blobs", "tmp");
    const deadline = Date.now() + 20_000;
    let partial: string[] = [];
    while (partial.length === 0 && Date.now() < deadline) {
      partial = await readdir(tmp).catch(() => []);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(partial).toHaveLength(1);
    first.child.kill("SIGKILL");
    await first.exited;
    req.destroy();
    expect(await readdir(tmp)).toEqual(partial);
    // An hour and a bit later (by its mtime), beside one that is not old yet.
    await age(path.join(tmp, partial[0]!), HOUR + 5 * 60_000);
    await writeFile(path.join(tmp, "recent"), "partial");

    const second = await spawnServer(env);
    cleanup.push(() => second.stop());
    const gone = Date.now() + 20_000;
    while ((await readdir(tmp)).includes(partial[0]!) && Date.now() < gone) await new Promise((r) => setTimeout(r, 100));
    expect(await readdir(tmp)).toEqual(["recent"]);
  }, 240_000);

  it("s3: says it cannot list multipart uploads on a server without ListMultipartUploads (s3rver), without failing", async () => {
    const s3 = await startS3();
    cleanup.push(() => s3.close());
    const store = new S3BlobStore(createS3Client(s3.config), s3.config.bucket);
    expect(await store.sweepAbandonedUploads(new Date())).toEqual({ removed: 0, supported: false });
    const logs = new LogCapture();
    const sweeper = new UploadSweeper(store, { logger: createLogger({ level: "info", destination: logs }) });
    await sweeper.sweep();
    await sweeper.sweep();
    expect(logs.lines.filter((l) => l.includes("cannot list unfinished uploads"))).toHaveLength(1);
  });

  it("s3: aborts incomplete multipart uploads older than the cut-off under its own prefixes, page by page", async () => {
    // s3rver cannot list multipart uploads, so this case speaks S3's API through a stand-in client.
    const old = new Date(Date.now() - 2 * HOUR);
    const recent = new Date();
    const pages: Record<string, ListMultipartUploadsCommandOutput[]> = {
      "pfx/blobs/": [
        { $metadata: {}, IsTruncated: true, NextKeyMarker: "k2", NextUploadIdMarker: "u2", Uploads: [{ Key: "pfx/blobs/sha256/aa/1", UploadId: "u1", Initiated: old }, { Key: "pfx/blobs/sha256/aa/2", UploadId: "u2", Initiated: recent }] },
        { $metadata: {}, IsTruncated: false, Uploads: [{ Key: "pfx/blobs/sha256/bb/3", UploadId: "u3", Initiated: old }] },
      ],
      "pfx/reports/": [{ $metadata: {}, IsTruncated: false, Uploads: [{ Key: "pfx/reports/2026-01-01/r/diff.json", UploadId: "u4", Initiated: old }] }],
    };
    const sent: Array<{ command: string; input: Record<string, unknown> }> = [];
    const client = {
      async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
        sent.push({ command: command.constructor.name, input: command.input });
        if (command.constructor.name === "ListMultipartUploadsCommand") return pages[String(command.input.Prefix)]!.shift();
        return {};
      },
    } as unknown as S3Client;
    const store = new S3BlobStore(client, "bucket", "pfx/");
    expect(await store.sweepAbandonedUploads(new Date(Date.now() - HOUR))).toEqual({ removed: 3, supported: true });
    expect(sent.filter((s) => s.command === "AbortMultipartUploadCommand").map((s) => s.input.UploadId)).toEqual(["u1", "u3", "u4"]);
    const lists = sent.filter((s) => s.command === "ListMultipartUploadsCommand").map((s) => s.input);
    expect(lists).toEqual([
      { Bucket: "bucket", Prefix: "pfx/blobs/", KeyMarker: undefined, UploadIdMarker: undefined },
      { Bucket: "bucket", Prefix: "pfx/blobs/", KeyMarker: "k2", UploadIdMarker: "u2" },
      { Bucket: "bucket", Prefix: "pfx/reports/", KeyMarker: undefined, UploadIdMarker: undefined },
    ]);
  });
});
