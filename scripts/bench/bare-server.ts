/**
 * The hot-resolve baseline: a bare express 5 route that answers with fixed bytes and headers
 * (those of a real resolve answer), in its own process started the same way as the registry.
 */
import { readFileSync } from "node:fs";
import express from "express";

const body = readFileSync(process.env.BODY_FILE!);
const headers = JSON.parse(process.env.HEADERS_JSON!) as Record<string, string>;
const app = express();
app.get("/bundle", (_req, res) => {
  res.set(headers).status(200).send(body);
});
const server = app.listen(Number(process.env.PORT), "127.0.0.1", () => {
  process.stdout.write("bare express listening\n");
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
