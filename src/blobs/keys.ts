/**
 * The blob store's whole key layout, the same in every BlobStore implementation:
 *
 *   blobs/sha256/<hex[0..2]>/<hex>     the bytes of one blob, stored once for every project
 *                                      (which project may read it lives in the database)
 *   reports/YYYY-MM-DD/<change-id>/<file>
 *                                      evidence packs; written once, never overwritten
 *   tmp/<random>                       filesystem uploads in progress; never read, safe to sweep
 *
 * S3 needs no tmp keys: a multipart upload is invisible until it is completed, and it is
 * completed only after the bytes hashed to the expected digest.
 */

export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

export function isDigest(value: string): boolean {
  return DIGEST_PATTERN.test(value);
}

export function blobKey(digest: string): string {
  if (!isDigest(digest)) throw new Error(`not a sha256 digest: ${digest}`);
  const hex = digest.slice("sha256:".length);
  return `blobs/sha256/${hex.slice(0, 2)}/${hex}`;
}

const CHANGE_ID = /^[A-Za-z0-9_-]{1,128}$/;
const REPORT_FILE = /^[a-z0-9][a-z0-9._-]{0,127}$/;

export function reportKey(options: { date: Date; changeId: string; file: string }): string {
  if (!CHANGE_ID.test(options.changeId)) throw new Error(`bad change id: ${options.changeId}`);
  if (!REPORT_FILE.test(options.file)) throw new Error(`bad report file name: ${options.file}`);
  return `${reportPrefix(options.date, options.changeId)}${options.file}`;
}

export function reportPrefix(date: Date, changeId: string): string {
  return `reports/${date.toISOString().slice(0, 10)}/${changeId}/`;
}

/** Keys are built here from validated parts; stores still refuse anything that could escape. */
export function assertSafeKey(key: string): void {
  if (key.length === 0 || key.startsWith("/") || key.split("/").some((p) => p === ".." || p === "." || p === "")) {
    throw new Error(`unsafe blob key: ${key}`);
  }
}
