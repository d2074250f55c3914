import { pipeline } from "node:stream/promises";
import { z } from "zod";
import { AppError } from "../core/errors.js";
import { streamedBody } from "../http/body-limits.js";
import { actorOf } from "../http/context.js";
import { digestSchema, nameSchema } from "../core/names.js";
import { parseRange } from "../http/range.js";
import type { RouteSpec } from "../http/routes.js";
import { parseInput } from "../http/validate.js";
import type { BlobService } from "./service.js";

const blobParams = z.object({ project: nameSchema, digest: digestSchema });

function blobHeaders(digest: string, size: number) {
  return {
    "content-type": "application/octet-stream",
    "accept-ranges": "bytes",
    etag: `"${digest}"`,
    "cache-control": "private, max-age=31536000, immutable",
    "content-length": String(size),
  };
}

export function blobRoutes(deps: { blobs: BlobService; onBytesOut?: (n: number) => void }): RouteSpec[] {
  const { blobs } = deps;
  return [
    {
      method: "put",
      path: "/projects/:project/blobs/:digest",
      scope: "publish",
      body: "stream",
      async handler(req, res) {
        const { project, digest } = parseInput(blobParams, req.params, "params");
        const length = req.headers["content-length"];
        const result = await blobs.upload(actorOf(req, res), {
          project,
          digest,
          body: streamedBody(req),
          ...(length !== undefined ? { declaredLength: Number(length) } : {}),
        });
        // A 200 can be sent before the body was read (the project already holds the blob): the
        // connection then closes (createHttpServer) rather than reading the rest for nothing.
        res.status(result.created ? 201 : 200).json({ digest: result.digest, size: result.size });
      },
    },
    {
      method: "head",
      path: "/projects/:project/blobs/:digest",
      scope: "read",
      async handler(req, res) {
        const { project, digest } = parseInput(blobParams, req.params, "params");
        const { size } = await blobs.head(project, digest);
        res.set(blobHeaders(digest, size)).status(200).end();
      },
    },
    {
      method: "get",
      path: "/projects/:project/blobs/:digest",
      scope: "read",
      async handler(req, res) {
        const { project, digest } = parseInput(blobParams, req.params, "params");
        const opened = await blobs.open(project, digest, {
          range: (size) => parseRange(req.headers.range, size),
          clientHasIt: req.headers["if-none-match"] === `"${digest}"`,
        });
        if (opened.notModified) {
          res.status(304).end();
          return;
        }
        if (opened.request.kind === "unsatisfiable") {
          res.setHeader("content-range", `bytes */${opened.size}`);
          throw new AppError({ code: "bad_request", status: 416, title: "Range not satisfiable", detail: `The blob has ${opened.size} bytes` });
        }
        const headers = blobHeaders(digest, opened.size);
        if (opened.request.kind === "range") {
          const { start, end } = opened.request.range;
          res.status(206).set({ ...headers, "content-length": String(end - start + 1), "content-range": `bytes ${start}-${end}/${opened.size}` });
        } else {
          res.status(200).set(headers);
        }
        const stream = opened.stream!;
        if (deps.onBytesOut) stream.on("data", (chunk: Buffer) => deps.onBytesOut!(chunk.length));
        await pipeline(stream, res);
      },
    },
  ];
}
