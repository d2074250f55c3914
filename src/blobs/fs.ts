import { randomUUID } from "node:crypto";
import { access, mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { DigestMeter } from "./digest-meter.js";
import { assertSafeKey } from "./keys.js";
import type { BlobStore, PutOptions, PutResult, SweepResult } from "./ports.js";
import type { ByteRange } from "../core/byte-range.js";

/**
 * Blobs as files under one root. Writes go to tmp/ and are renamed into place after the
 * digest is verified and the data fsynced: rename is atomic within one filesystem, so a
 * reader sees the whole file or nothing.
 */
export class FsBlobStore implements BlobStore {
  readonly kind = "fs" as const;

  constructor(private readonly root: string) {}

  private pathOf(key: string): string {
    assertSafeKey(key);
    return path.join(this.root, ...key.split("/"));
  }

  async put(key: string, body: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<PutResult> {
    const finalPath = this.pathOf(key);
    const tmpDir = path.join(this.root, "tmp");
    await mkdir(tmpDir, { recursive: true });
    const tmpPath = path.join(tmpDir, randomUUID());
    const meter = new DigestMeter(options);
    const handle = await open(tmpPath, "wx", 0o644);
    try {
      for await (const chunk of body) {
        meter.update(chunk);
        await handle.write(chunk);
      }
      const digest = meter.verify();
      await handle.sync();
      await handle.close();
      await mkdir(path.dirname(finalPath), { recursive: true });
      await rename(tmpPath, finalPath);
      return { digest, size: meter.size };
    } catch (err) {
      await handle.close().catch(() => {});
      await rm(tmpPath, { force: true });
      throw err;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable | undefined> {
    const file = this.pathOf(key);
    try {
      // Open first so a missing file is reported here, not as a stream error mid-response.
      const handle = await open(file, "r");
      return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    try {
      const s = await stat(this.pathOf(key));
      return { size: s.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async check(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await access(this.root);
  }

  /**
   * Deletes files in tmp/ last written before `before`. An upload in progress writes its file
   * with every chunk, so only one that has stalled longer than the cut-off (far beyond any idle
   * time-out of the upload route) or whose process died can match.
   */
  async sweepAbandonedUploads(before: Date): Promise<SweepResult> {
    const tmpDir = path.join(this.root, "tmp");
    const names = await readdir(tmpDir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return [] as string[];
      throw err;
    });
    let removed = 0;
    for (const name of names) {
      const file = path.join(tmpDir, name);
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile() || info.mtimeMs >= before.getTime()) continue;
      await rm(file, { force: true });
      removed++;
    }
    return { removed, supported: true };
  }
}
