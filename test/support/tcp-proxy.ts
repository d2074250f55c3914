import { createServer, connect, type Server, type Socket } from "node:net";
import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A byte-for-byte TCP forwarder to a test registry (or database). Closing it cuts every open
 * connection, as a registry that crashed or a network that failed would; starting one on a
 * fixed port is "the registry came back".
 *
 * `pause()` makes the far side hang instead: connections stay open and new ones are accepted,
 * but no byte goes through in either direction, as with a server whose processes are stopped.
 * `resume()` delivers what was held, in order, and an end that came meanwhile after it (the
 * stopped server reads its socket's buffered bytes and then the close when it runs again).
 */
export interface TcpProxy {
  port: number;
  url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

interface Held {
  to: Socket;
  chunk?: Buffer;
  end?: true;
}

export async function startTcpProxy(targetUrl: string, port = 0): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let accepted = 0;
  let paused = false;
  let held: Held[] = [];
  const forward = (from: Socket, to: Socket) => {
    from.on("data", (chunk: Buffer) => {
      if (paused) held.push({ to, chunk });
      else if (!to.destroyed) to.write(chunk);
    });
    from.on("end", () => {
      if (paused) held.push({ to, end: true });
      else to.end();
    });
  };
  const server: Server = createServer((client) => {
    accepted++;
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        // While paused, an abrupt end waits like a graceful one.
        if (paused) {
          held.push({ to: s === client ? upstream : client, end: true });
          return;
        }
        client.destroy();
        upstream.destroy();
      });
    }
    forward(client, upstream);
    forward(upstream, client);
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
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      const due = held;
      held = [];
      for (const h of due) {
        if (h.to.destroyed) continue;
        if (h.chunk) h.to.write(h.chunk);
        else h.to.end();
      }
    },
    async close() {
      paused = false;
      held = [];
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
