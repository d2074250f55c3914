/**
 * Canary assignment — a public contract shared by the server and the SDK; changing any detail
 * below reshuffles live rollouts, so it is frozen:
 *
 *   key       = UTF-8 bytes of `${rolloutId}:${subject}`   (no normalisation, no trimming;
 *               a lone UTF-16 surrogate encodes as U+FFFD, as TextEncoder does)
 *   bucket    = murmur3_x86_32(key, seed 0) mod 10000      (0 … 9999)
 *   threshold = round(percent × 100)                        (percent in [0, 100], step 0.01)
 *   candidate ⇔ bucket < threshold  or  subject ∈ allow
 *
 * Because the bucket depends only on the rollout id and the subject, a subject on the candidate
 * stays there when the percent grows, 100 puts everyone on it and 0 leaves only the allowlist.
 * Vectors: test/fixtures/assignment-vectors.json.
 */
import { murmur3_x86_32 } from "./murmur3.js";

export type Assignment = "candidate" | "stable";

export const BUCKETS = 10_000;

const utf8 = new TextEncoder();
/** The key's UTF-8 bytes are written here, grown when a key needs more: no array per assignment. */
let scratch = new Uint8Array(256);

export function assignmentBucket(rolloutId: string, subject: string): number {
  const key = `${rolloutId}:${subject}`;
  // A UTF-16 code unit takes at most 3 bytes in UTF-8 (a surrogate pair, 4 for two units).
  if (key.length * 3 > scratch.length) scratch = new Uint8Array(key.length * 3);
  // encodeInto writes a lone surrogate as U+FFFD, as encode does.
  const { written } = utf8.encodeInto(key, scratch);
  return murmur3_x86_32(scratch.subarray(0, written), 0) % BUCKETS;
}

/** True when `percent` is a finite number in [0, 100] with at most two decimals. */
export function isValidPercent(percent: number): boolean {
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) return false;
  const scaled = percent * 100;
  // 12.34 × 100 is 1233.9999999999998 in binary floating point; allow that much slack only.
  return Math.abs(scaled - Math.round(scaled)) < 1e-6;
}

/** The number of buckets (out of 10 000) given to the candidate at `percent`. */
export function percentToThreshold(percent: number): number {
  if (!isValidPercent(percent)) {
    throw new RangeError(`percent must be in [0, 100] in steps of 0.01, got ${percent}`);
  }
  return Math.round(percent * 100);
}

export function assignSubject(options: {
  rolloutId: string;
  subject: string;
  percent: number;
  allow?: readonly string[] | ReadonlySet<string>;
}): Assignment {
  const { rolloutId, subject, percent, allow } = options;
  const threshold = percentToThreshold(percent);
  if (allow !== undefined) {
    const allowed = Array.isArray(allow)
      ? (allow as readonly string[]).includes(subject)
      : (allow as ReadonlySet<string>).has(subject);
    if (allowed) return "candidate";
  }
  return assignmentBucket(rolloutId, subject) < threshold ? "candidate" : "stable";
}
