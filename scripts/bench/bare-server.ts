/**
 * The hot-resolve baselines: a route that answers with fixed bytes and headers (those of a real
 * resolve answer), in its own process started the same way as the registry. BARE=express (the
 * target's baseline): a bare express 5 route. BARE=node: node:http alone, the floor under any
 * server written for Node.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import express from "express";

const body = readFileSync(process.env.BODY_FILE!);
const headers = JSON.parse(process.env.HEADERS_JSON!) as Record<string, string>;

function expressApp() {
  const app = express();
  app.get("/bundle", (_req, res) => {
    res.set(headers).status(200).send(body);
  });
  return app;
}

function nodeListener(): Parameters<typeof createServer>[1] {
  const head = { ...headers, "content-length": String(body.length) };
  return (req, res) => {
    if (req.method === "GET" && req.url === "/bundle") res.writeHead(200, head).end(body);
    else res.writeHead(404).end();
  };
}

const kind = process.env.BARE ?? "express";
const server = createServer(kind === "node" ? nodeListener() : expressApp());
server.listen(Number(process.env.PORT), "127.0.0.1", () => {
  process.stdout.write(`bare ${kind} listening\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
