import { randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blobKey } from "../../src/blobs/keys.js";
import { sha256Digest } from "../support/builders.js";
import { ADMIN_TOKEN, backends, startTestApp, type TestApp } from "../support/test-app.js";

const IDLE_MS = 1_000;
const JSON_TOTAL_MS = 1_500;

interface Exchange {
  raw: string;
  /** Whether the server closed the connection. */
  closed: boolean;
  ms: number;
}

/** Whether `raw` holds a whole response (head and a body of its content-length). */
function complete(raw: string): boolean {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) return false;
  const length = Number(/\r\ncontent-length: (\d+)/i.exec(raw.slice(0, end))?.[1] ?? 0);
  return raw.length - end - 4 >= length;
}

/**
 * Sends `head`, then `chunks` one every `intervalMs`, then nothing more; returns what came back
 * once a whole answer arrived, with whether the server then closed the connection (waited for
 * up to 500 ms), or after `timeoutMs`.
 */
function trickle(url: string, head: string, chunks: Buffer[], intervalMs: number, timeoutMs = 15_000): Promise<Exchange> {
  const { hostname, port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    let raw = "";
    let timer: NodeJS.Timeout | undefined;
    let answeredAt: number | undefined;
    const done = (closed: boolean) => {
      clearTimeout(timer);
      clearTimeout(deadline);
      socket.destroy();
      resolve({ raw, closed, ms: (answeredAt ?? Date.now()) - started });
    };
    const deadline = setTimeout(() => done(false), timeoutMs);
    socket.on("data", (d: Buffer) => {
      raw += d.toString("latin1");
      if (answeredAt === undefined && complete(raw)) {
        answeredAt = Date.now();
        setTimeout(() => done(false), 500);
      }
    });
    socket.on("close", () => done(true));
    socket.on("error", () => {});
    socket.write(head);
    let i = 0;
    const next = () => {
      if (i >= chunks.length || socket.destroyed) return;
      socket.write(chunks[i++]!);
      timer = setTimeout(next, intervalMs);
    };
    timer = setTimeout(next, intervalMs);
  });
}

const statusOf = (raw: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
const problemOf = (raw: string) => JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4)) as { code: string; detail: string };

describe.each(backends())("slow uploads on $name", (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend, { http: { bodyIdleTimeoutMs: IDLE_MS, jsonBodyTimeoutMs: JSON_TOTAL_MS } });
    expect((await t.request("PUT", "/v1/projects/demo")).status).toBe(201);
  });
  afterAll(async () => t?.close());
  const host = () => new URL(t.url).host;
  const blobHead = (digest: string, length: number) =>
    `PUT /v1/projects/demo/blobs/${digest} HTTP/1.1\r\nhost: ${host()}\r\nauthorization: Bearer ${ADMIN_TOKEN}\r\ncontent-type: application/octet-stream\r\ncontent-length: ${length}\r\n\r\n`;

  async function leftovers(digest: string): Promise<unknown[]> {
    const found: unknown[] = [];
    if (await t.blobStore.head(blobKey(digest))) found.push(`stored ${digest}`);
    if (t.blobDir) found.push(...(await readdir(path.join(t.blobDir, "tmp")).catch(() => [])));
    return found;
  }

  it("lets a slow but steady blob upload finish, however long it takes in all", async () => {
    const bytes = randomBytes(30 * 1024);
    const digest = sha256Digest(bytes);
    const chunks = Array.from({ length: 30 }, (_, i) => bytes.subarray(i * 1024, (i + 1) * 1024));
    // 30 chunks 150 ms apart: 4.5 s in all, past both time-outs (1 s idle, 1.5 s for a JSON body).
    const answer = await trickle(t.url, blobHead(digest, bytes.length), chunks, 150);
    expect(statusOf(answer.raw), answer.raw.slice(0, 300)).toBe(201);
    expect(answer.ms).toBeGreaterThan(JSON_TOTAL_MS);
    const stored = await t.request("GET", `/v1/projects/demo/blobs/${digest}`);
    expect(Buffer.from(await stored.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it("cuts a blob upload that stalls with 408, closes the connection and leaves nothing behind", async () => {
    const bytes = randomBytes(64 * 1024);
    const digest = sha256Digest(bytes);
    const firstLine = t.logs.lines.length;
    const answer = await trickle(t.url, blobHead(digest, bytes.length), [bytes.subarray(0, 16 * 1024), bytes.subarray(16 * 1024, 32 * 1024)], 100);
    expect(statusOf(answer.raw), answer.raw.slice(0, 300)).toBe(408);
    expect(problemOf(answer.raw)).toMatchObject({ code: "request_timeout" });
    expect(problemOf(answer.raw).detail).toContain("nothing was stored");
    expect(answer.closed).toBe(true);
    expect(answer.ms).toBeGreaterThanOrEqual(IDLE_MS);
    expect(answer.ms).toBeLessThan(IDLE_MS + 5_000);
    expect((await t.request("HEAD", `/v1/projects/demo/blobs/${digest}`)).status).toBe(404);
    expect(await leftovers(digest)).toEqual([]);
    const lines = t.logs.lines.slice(firstLine).map((l) => JSON.parse(l) as { level: number; res?: { status: number } });
    expect(lines.find((l) => l.res?.status === 408)).toMatchObject({ level: 40 });
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  });

  it("cuts a JSON body that stalls (408) and one that trickles past its total time-out (408)", async () => {
    const head = (length: number) =>
      `POST /v1/projects/demo/artifacts/config/slow HTTP/1.1\r\nhost: ${host()}\r\nauthorization: Bearer ${ADMIN_TOKEN}\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;
    const stalled = await trickle(t.url, head(1000), [Buffer.from('{"content":')], 50);
    expect(statusOf(stalled.raw)).toBe(408);
    expect(problemOf(stalled.raw).detail).toContain(`${IDLE_MS} ms`);
    expect(stalled.closed).toBe(true);

    const steady = Array.from({ length: 40 }, () => Buffer.from(" "));
    const slow = await trickle(t.url, head(1000), steady, 100);
    expect(statusOf(slow.raw)).toBe(408);
    expect(problemOf(slow.raw).detail).toContain(`within ${JSON_TOTAL_MS} ms`);
    expect(slow.ms).toBeLessThan(JSON_TOTAL_MS + 3_000);
    expect((await t.request("GET", "/v1/projects/demo/artifacts/config/slow")).status).toBe(404);
  });
});
