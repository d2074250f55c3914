import http from "node:http";
import net from "node:net";
import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Digest } from "../support/builders.js";
import { socketRequest } from "../support/fuzz/raw-http.js";
import { ADMIN_TOKEN, backends, startTestApp, type TestApp } from "../support/test-app.js";
import { createToken } from "../support/tokens.js";

const MiB = 1024 * 1024;

/** A POST through node:http that stops sending once the answer is in, as curl does. */
function post(url: string, body: Buffer): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: "POST", agent: false, headers: { "content-type": "application/json", "content-length": String(body.length) } }, (res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      res.on("end", () => req.destroy());
    });
    req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end(body);
  });
}

/** Writes `head`, then calls `onData` with everything received so far until it returns true or the socket closes. */
function converse(url: string, head: string, onData: (received: string, socket: Socket) => boolean, timeoutMs = 5_000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let received = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${timeoutMs} ms; got ${JSON.stringify(received.slice(0, 200))}`));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(received);
    };
    socket.on("data", (d: Buffer) => {
      received += d.toString("latin1");
      if (onData(received, socket)) finish();
    });
    socket.on("close", finish);
    socket.on("error", () => {});
    socket.write(head);
  });
}

function statusOf(raw: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
}

describe.each(backends())("bodies are read only after authentication, within each route's limit, on $name", (backend) => {
  let t: TestApp;
  /** For each answer the server finished writing: how much of its connection it had read by then. */
  const readWhenAnswered: Array<{ url: string; bytes: number }> = [];
  beforeAll(async () => {
    t = await startTestApp(backend, { limits: { maxJsonBytes: 4 * MiB, maxBlobBytes: 64 * MiB } });
    t.server.prependListener("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
      res.once("finish", () => readWhenAnswered.push({ url: req.url ?? "", bytes: req.socket.bytesRead }));
    });
    expect((await t.request("PUT", "/v1/projects/demo")).status).toBe(201);
    expect((await t.request("PUT", "/v1/projects/demo/environments/prod")).status).toBe(201);
  });
  afterAll(async () => t?.close());
  const host = () => new URL(t.url).host;

  it("answers 40 unauthenticated 9.7 MiB POSTs with 401 without reading them, and /healthz keeps answering", async () => {
    const body = Buffer.alloc(Math.round(9.7 * MiB), 0x20);
    body.write('{"content":');
    body.write("1}", body.length - 2);
    let probing = true;
    const health: number[] = [];
    const prober = (async () => {
      while (probing) {
        health.push((await fetch(`${t.url}/healthz`)).status);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const statuses = await Promise.all(Array.from({ length: 40 }, () => post(`${t.url}/v1/projects/demo/artifacts/prompt/big`, body)));
    probing = false;
    await prober;
    expect(statuses).toEqual(Array(40).fill(401));
    expect(health.every((s) => s === 200)).toBe(true);
    // Before, the JSON parser read (and held) each whole 9.7 MiB before the token was checked;
    // now the 401 goes out once the headers and what the socket had buffered (~64 KiB) are in.
    const answered = readWhenAnswered.filter((r) => r.url.endsWith("/prompt/big"));
    expect(answered).toHaveLength(40);
    for (const { bytes } of answered) expect(bytes).toBeLessThan(body.length * 0.05);
  });

  it("never invites the body of an unauthenticated request that expects 100-continue", async () => {
    const raw = await converse(t.url, `POST /v1/projects/demo/artifacts/prompt/big HTTP/1.1\r\nhost: ${host()}\r\ncontent-type: application/json\r\ncontent-length: ${9 * MiB}\r\nexpect: 100-continue\r\n\r\n`, () => false);
    expect(statuses(raw)).toEqual([401]);
    expect(raw.toLowerCase()).toContain("connection: close");
  });

  it("invites the body of an authorised request that expects 100-continue", async () => {
    const body = JSON.stringify({ content: { values: { continued: true } } });
    let sent = false;
    const raw = await converse(
      t.url,
      `POST /v1/projects/demo/artifacts/config/continued HTTP/1.1\r\nhost: ${host()}\r\nauthorization: Bearer ${ADMIN_TOKEN}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nexpect: 100-continue\r\n\r\n`,
      (received, socket) => {
        if (!sent && received.startsWith("HTTP/1.1 100 Continue\r\n\r\n")) {
          sent = true;
          socket.write(body);
        }
        return /\r\n\r\n[\s\S]*\}$/.test(received.slice(received.indexOf("HTTP/1.1 201")));
      },
    );
    expect(statuses(raw)).toEqual([100, 201]);
  });

  it("refuses a declared content-length of 1e12 with 413 at once, before reading, and closes the connection", async () => {
    const started = Date.now();
    const raw = await socketRequest(
      t.url,
      `POST /v1/projects/demo/artifacts/prompt/huge HTTP/1.1\r\nhost: ${host()}\r\nauthorization: Bearer ${ADMIN_TOKEN}\r\ncontent-type: application/json\r\ncontent-length: 1000000000000\r\n\r\n{"content":`,
    );
    // socketRequest returns when the server closes the connection (else it fails after 5 s).
    expect(statusOf(raw)).toBe(413);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(raw.toLowerCase()).toContain("\r\nconnection: close\r\n");
    const problem = JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4)) as { code: string; detail: string };
    expect(problem.code).toBe("payload_too_large");
    expect(problem.detail).toContain("1000000000000");
  });

  it("checks the route's scope and visibility before reading a body (403, 404)", async () => {
    const reader = await createToken(t, { scopes: ["read"], projects: ["demo"] });
    const other = await createToken(t, { scopes: ["publish"], projects: ["elsewhere"] });
    const digest = sha256Digest("x");
    const head = (token: string) =>
      `PUT /v1/projects/demo/blobs/${digest} HTTP/1.1\r\nhost: ${host()}\r\nauthorization: Bearer ${token}\r\ncontent-length: ${1024 * MiB}\r\n\r\nxxxx`;
    expect(statusOf(await socketRequest(t.url, head(reader.token)))).toBe(403);
    expect(statusOf(await socketRequest(t.url, head(other.token)))).toBe(404);
    // The blob limit (64 MiB here) applies before reading too.
    expect(statusOf(await socketRequest(t.url, head(ADMIN_TOKEN)))).toBe(413);
  });

  it("gives deploy, rollback and observations a small limit and artifacts and version sets the JSON maximum", async () => {
    const padded = (size: number) => JSON.stringify({ version_set: "vs_x", reason: "r".repeat(size) });
    const small = padded(600 * 1024);
    for (const path of ["/deploy", "/rollback", "/observations"]) {
      const res = await t.request("POST", `/v1/projects/demo/environments/prod${path}`, { raw: small, headers: { "content-type": "application/json" } });
      expect(res.status, path).toBe(413);
      expect((await res.json()).code).toBe("payload_too_large");
    }
    // The same size is read (and then judged by the route's schema) where large bodies are valid.
    const set = await t.request("POST", "/v1/projects/demo/version-sets", { raw: small, headers: { "content-type": "application/json" } });
    expect(set.status).toBe(400);
    const artifact = await t.request("POST", "/v1/projects/demo/artifacts/prompt/long", { body: { content: { template: `${"x".repeat(600 * 1024)} {{q}}`, variables: ["q"] } } });
    expect(artifact.status).toBe(201);
  });

  it("refuses a chunked body over the route's limit with 413 as soon as it passes the limit", async () => {
    let sent = 0;
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        // Endless unless the server stops it: 413 once the small limit (512 KiB) is passed.
        sent += chunk.length;
        await new Promise((r) => setTimeout(r, 2));
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(`${t.url}/v1/projects/demo/environments/prod/deploy`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(sent).toBeLessThan(8 * MiB);
  });

  it("accepts the largest valid small body: a token naming 1 000 projects and 1 000 environments", async () => {
    // 128-character names, the longest there are.
    const names = (prefix: string) => Array.from({ length: 1000 }, (_, i) => `${prefix}${String(i).padStart(4, "0")}${"n".repeat(123)}`);
    const body = { name: "wide", scopes: ["deploy"], projects: names("p"), environments: names("e") };
    expect(JSON.stringify(body).length).toBeGreaterThan(260_000);
    const res = await t.request("POST", "/v1/tokens", { body });
    expect(res.status).toBe(201);
  });

  it("logs a client that disconnects mid-body as a client abort (499, info), never as a 5xx", async () => {
    const abort = (method: string, path: string, contentType: string) =>
      converse(t.url, `${method} ${path} HTTP/1.1\r\nhost: ${host()}\r\nauthorization: Bearer ${ADMIN_TOKEN}\r\ncontent-type: ${contentType}\r\ncontent-length: ${4 * MiB}\r\n\r\n{"content":"${"x".repeat(100_000)}`, () => false, 500).catch(() => "");
    const firstLine = t.logs.lines.length;
    await Promise.all([
      abort("POST", "/v1/projects/demo/artifacts/prompt/aborted", "application/json"),
      abort("PUT", `/v1/projects/demo/blobs/${sha256Digest("never")}`, "application/octet-stream"),
    ]);
    const deadline = Date.now() + 5_000;
    let lines: Array<{ level: number; msg: string; res?: { status: number }; req?: { url: string } }> = [];
    while (Date.now() < deadline) {
      lines = t.logs.lines.slice(firstLine).map((l) => JSON.parse(l));
      if (lines.filter((l) => l.res?.status === 499).length >= 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const aborted = lines.filter((l) => l.res?.status === 499);
    expect(aborted.map((l) => l.req?.url).sort()).toEqual([`/v1/projects/demo/artifacts/prompt/aborted`, `/v1/projects/demo/blobs/${sha256Digest("never")}`]);
    for (const line of aborted) expect(line).toMatchObject({ level: 30, msg: "request aborted" });
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    expect(lines.some((l) => l.msg === "database unavailable")).toBe(false);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toContain('pinset_http_requests_total{method="POST",route="/v1/projects/:project/artifacts/:kind/:name",status="499"} 1');
    expect(metrics).toContain('pinset_http_requests_total{method="PUT",route="/v1/projects/:project/blobs/:digest",status="499"} 1');
    expect(metrics).not.toMatch(/status="5\d\d"/);
    // Nothing of the aborted upload was stored.
    expect((await t.request("HEAD", `/v1/projects/demo/blobs/${sha256Digest("never")}`)).status).toBe(404);
  });
});

/** The status codes of every response head in a raw exchange, in order (100 Continue included). */
function statuses(raw: string): number[] {
  return [...raw.matchAll(/(?:^|\r\n)HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}
