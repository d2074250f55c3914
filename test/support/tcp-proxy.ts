import { createServer, connect, type Server, type Socket } from "node:net";
import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A byte-for-byte TCP forwarder to a test registry. Closing it cuts every open connection, as a
 * registry that crashed or a network that failed would; starting one on a fixed port is "the
 * registry came back".
 */
export interface TcpProxy {
  port: number;
  url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetUrl: string, port = 0): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((client) => {
    accepted++;
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    get accepted() {
      return accepted;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * An HTTP proxy to a test registry whose `watch` answers 404, as an old registry or a proxy that
 * does not pass event streams would: the resolver must fall back to polling.
 */
export async function startNoWatchProxy(targetUrl: string): Promise<{ url: string; watchRequests: () => number; close(): Promise<void> }> {
  const target = new URL(targetUrl);
  let watchRequests = 0;
  const server = http.createServer((req, res) => {
    if ((req.url ?? "").split("?")[0]!.endsWith("/watch")) {
      watchRequests++;
      res.writeHead(404, { "content-type": "application/problem+json" }).end('{"status":404,"code":"not_found","detail":"no watch here"}');
      return;
    }
    const upstream = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    watchRequests: () => watchRequests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
