import { createHash, randomBytes } from "node:crypto";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";

export interface PackFile {
  name: string;
  bytes: Buffer;
  digest: string;
}

export interface ExpectedFile {
  name: string;
  digest: string;
  size?: number;
}

/** How the registry stores every evidence file (src/rollouts/evidence.ts): two-space JSON and a newline. */
export function encodeEvidenceFile(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value, null, 2)}\n`, "utf8");
}

export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** The names among `files` whose bytes do not hash (or measure) to what `expected` records, and those missing. */
export function mismatches(files: PackFile[], expected: ExpectedFile[]): string[] {
  const byName = new Map(files.map((f) => [f.name, f]));
  const wrong: string[] = [];
  for (const want of expected) {
    const got = byName.get(want.name);
    if (!got) wrong.push(`${want.name} (missing from the answer)`);
    else if (got.digest !== want.digest || (want.size !== undefined && got.bytes.byteLength !== want.size)) wrong.push(`${want.name} (expected ${want.digest}, got ${got.digest})`);
  }
  return wrong;
}

/** A file name from the pack that stays inside the output directory. */
export function safeFileName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name) && name !== "." && name !== "..";
}

/**
 * Writes each file through a temporary name and a rename, so an interrupted download never
 * leaves a half-written file under its real name; an existing file of that name is replaced.
 */
export async function writeFilesAtomically(dir: string, files: PackFile[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const suffix = `.tmp-${randomBytes(6).toString("hex")}`;
  const written: string[] = [];
  try {
    for (const file of files) {
      const temporary = path.join(dir, `${file.name}${suffix}`);
      written.push(temporary);
      await writeFile(temporary, file.bytes, { flag: "wx" });
    }
    for (const file of files) await rename(path.join(dir, `${file.name}${suffix}`), path.join(dir, file.name));
  } finally {
    await Promise.all(written.map((f) => rm(f, { force: true })));
  }
}
