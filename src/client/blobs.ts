import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { PinsetClient } from "./client.js";
import { PinsetApiError } from "./errors.js";

/** Large reads keep hashing and uploading of big files cheap per byte. */
const READ_CHUNK = 1024 * 1024;

export interface FileDigest {
  digest: string;
  size: number;
}

/** Streams a file through sha256: constant memory whatever the file size. */
export async function hashFile(file: string, onBytes?: (n: number) => void): Promise<FileDigest> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: READ_CHUNK }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
    onBytes?.(chunk.length);
  }
  return { digest: `sha256:${hash.digest("hex")}`, size };
}

/** Whether the project already holds the blob (HEAD: 200 yes, 404 no, anything else throws). */
export async function blobExists(client: PinsetClient, project: string, digest: string): Promise<boolean> {
  const { response } = await client.HEAD("/v1/projects/{project}/blobs/{digest}", { params: { path: { project, digest } } });
  if (response.ok) return true;
  // 404 also answers for a project the token cannot see; the upload that follows then fails
  // with the problem that names it.
  if (response.status === 404) return false;
  throw PinsetApiError.fromResponse(response);
}

export interface UploadFileOptions {
  project: string;
  /** The file's digest, known beforehand (see `hashFile`): the registry checks it while storing. */
  digest: string;
  file: string;
  /** The file's size; read from disk when omitted. Sent as `content-length` so oversized blobs fail fast. */
  size?: number;
  /** Called with each chunk's length as it leaves (progress bars). */
  onBytes?: (n: number) => void;
}

/** Uploads a file as a blob, streaming it from disk. Returns whether the registry stored new bytes. */
export async function uploadBlobFile(client: PinsetClient, options: UploadFileOptions): Promise<{ created: boolean; digest: string; size: number }> {
  const size = options.size ?? (await stat(options.file)).size;
  const stream: Readable = createReadStream(options.file, { highWaterMark: READ_CHUNK });
  if (options.onBytes) {
    const onBytes = options.onBytes;
    stream.on("data", (chunk: Buffer | string) => onBytes(chunk.length));
  }
  try {
    const { data, response, error } = await client.PUT("/v1/projects/{project}/blobs/{digest}", {
      params: { path: { project: options.project, digest: options.digest } },
      // The generated type says `string` (OpenAPI's `format: binary`); the wire takes any
      // byte stream, and fetch streams a Node Readable without buffering it.
      body: stream as unknown as string,
      bodySerializer: (body: unknown) => body,
      headers: { "content-type": "application/octet-stream", "content-length": String(size) },
      duplex: "half",
    });
    if (!response.ok || !data) throw PinsetApiError.fromResponse(response, error);
    return { created: response.status === 201, digest: data.digest, size: data.size };
  } finally {
    stream.destroy();
  }
}
