import { stat } from "node:fs/promises";
import { blobExists, hashFile, uploadBlobFile } from "../../client/blobs.js";
import { unwrap } from "../../client/client.js";
import type { CommandContext } from "../context.js";
import { InputError, UsageError } from "../errors.js";
import { createLimiter } from "../limit.js";
import { ProgressBar } from "../progress.js";
import { formatBytes, formatDuration, shortDigest } from "../render/format.js";
import { walkDirectory } from "../walk.js";

/** HEADs are cheap: check presence wider than we upload. */
const HEAD_CONCURRENCY = 16;

export interface PublishIndexOptions {
  name: string;
  dir: string;
  metadata: Record<string, string>;
  annotations: Record<string, string>;
  concurrency: number;
  /** Publish an index with no files when the directory has none (otherwise a usage error). */
  allowEmpty?: boolean;
}

interface Stats {
  uploadedFiles: number;
  uploadedBytes: number;
  presentFiles: number;
}

/**
 * Hashing, presence checks and uploads overlap: each file is hashed once (streaming), its
 * digest checked with HEAD, and only missing blobs are uploaded, `concurrency` at a time.
 * Files with identical bytes are uploaded once. The manifest is published last, so a failed
 * upload leaves no index version behind.
 */
export async function publishIndex(ctx: CommandContext, options: PublishIndexOptions): Promise<void> {
  const { client } = ctx;
  const project = ctx.project;
  const info = await stat(options.dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new InputError(`${options.dir} is not a directory`);

  const { files, skipped } = await walkDirectory(options.dir);
  for (const entry of skipped) ctx.note(`pinset: skipping ${entry}`);
  // An empty directory is far more often a wrong path or a build step that did not run than a
  // deliberately empty index; publishing it would pin "no knowledge base" without a word.
  if (files.length === 0 && !options.allowEmpty) {
    const why = skipped.length > 0 ? ` (${skipped.length} entr${skipped.length === 1 ? "y" : "ies"} skipped, no regular files)` : "";
    throw new UsageError(`${options.dir} has no files to publish${why}; pass --allow-empty to publish an index with 0 files`, "publish");
  }
  const total = files.reduce((sum, f) => sum + f.size, 0);
  const bar = ctx.interactive ? new ProgressBar(ctx.io.stderr, total) : undefined;
  const started = performance.now();

  const heads = createLimiter(HEAD_CONCURRENCY);
  const uploads = createLimiter(options.concurrency);
  const stats: Stats = { uploadedFiles: 0, uploadedBytes: 0, presentFiles: 0 };
  const seen = new Set<string>();
  const tasks: Promise<void>[] = [];
  let failure: { error: unknown } | undefined;
  const entries: { path: string; digest: string; size: number }[] = [];
  const status = () => bar?.setStatus(`${entries.length}/${files.length} hashed, ${stats.uploadedFiles} uploaded, ${stats.presentFiles} present`);

  try {
    for (const file of files) {
      if (failure) break;
      const hashed = await hashFile(file.absolute).catch((error: unknown) => void (failure ??= { error }));
      if (!hashed) break;
      const { digest, size } = hashed;
      entries.push({ path: file.path, digest, size });
      if (seen.has(digest)) {
        bar?.complete(size);
        continue;
      }
      seen.add(digest);
      const task = heads(async () => (failure ? undefined : blobExists(client, project, digest))).then(async (present) => {
        if (present === undefined) return;
        if (present) {
          stats.presentFiles++;
          bar?.complete(size);
          status();
          return;
        }
        await uploads(async () => {
          // After one failure the publish is lost anyway: queued uploads do not start.
          if (failure) return;
          await uploadBlobFile(client, { project, digest, file: file.absolute, size, ...(bar ? { onBytes: (n: number) => bar.sent(n) } : {}) });
          stats.uploadedFiles++;
          stats.uploadedBytes += size;
          status();
        });
      });
      tasks.push(task.catch((error: unknown) => void (failure ??= { error })));
      status();
    }
    await Promise.all(tasks);
  } finally {
    bar?.finish();
  }
  if (failure) throw failure.error;

  const content = { files: entries, ...(Object.keys(options.metadata).length > 0 ? { metadata: options.metadata } : {}) };
  const result = await client.POST("/v1/projects/{project}/artifacts/{kind}/{name}", {
    params: { path: { project, kind: "index", name: options.name } },
    body: { content, ...(Object.keys(options.annotations).length > 0 ? { annotations: options.annotations } : {}) },
  });
  const artifact = await unwrap(result);
  const seconds = (performance.now() - started) / 1000;
  ctx.output(artifact, (a) => {
    const ref = `index/${a.name} version ${a.version} (${shortDigest(a.digest)})`;
    const head = result.response.status === 201 ? `Published ${ref}` : `Unchanged: ${ref} already holds these files`;
    const upload =
      stats.uploadedFiles > 0
        ? `uploaded ${stats.uploadedFiles} ${plural(stats.uploadedFiles, "blob")} (${formatBytes(stats.uploadedBytes)}) in ${formatDuration(seconds)}`
        : "uploaded nothing";
    return `${head}: ${entries.length} ${plural(entries.length, "file")}, ${formatBytes(total)}; ${upload}, ${stats.presentFiles} already present`;
  });
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}
