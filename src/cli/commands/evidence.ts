import { unwrap } from "../../client/client.js";
import { stringOption, type CommandSpec } from "../command.js";
import { CliError, EXIT, UsageError } from "../errors.js";
import { encodeEvidenceFile, mismatches, safeFileName, sha256Digest, writeFilesAtomically, type ExpectedFile, type PackFile } from "../evidence-files.js";

const MANIFEST = "manifest.json";

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function expectedFiles(manifest: unknown): ExpectedFile[] {
  const files = isRecord(manifest) && Array.isArray(manifest.files) ? manifest.files : [];
  return files.filter(isRecord).flatMap((f) =>
    typeof f.name === "string" && typeof f.digest === "string" ? [{ name: f.name, digest: f.digest, ...(typeof f.size === "number" ? { size: f.size } : {}) }] : [],
  );
}

export const evidenceGet: CommandSpec = {
  name: "evidence get",
  summary: "Download an evidence pack into a directory, checking every file against its digest",
  args: ["id"],
  options: { out: { type: "string", value: "dir", description: "The directory to write the files to (created when missing)" } },
  description: [
    "Each file is rebuilt byte for byte as the registry stored it and checked against the sha256",
    "in manifest.json (and manifest.json against the digest the registry recorded) before anything",
    "is written: a mismatch writes nothing, names the file and exits 1. Existing files of the same",
    "names in the directory are replaced.",
  ].join("\n"),
  examples: ["pinset evidence get ro_5f0c2a9e1b7d4c3a8e6f0b12 --out ./evidence", "pinset rollout status production --json | jq -r '.evidence[-1]' | xargs -I{} pinset evidence get {} --out ev"],
  async run(ctx, { args, values }) {
    const out = stringOption(values, "out");
    if (out === undefined || out === "") throw new UsageError("missing --out <dir>", "evidence get");
    const id = args.id!;
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(id)) throw new UsageError(`"${id}" is not an evidence pack id (ro_… or ro_…-n)`, "evidence get");
    const pack = await unwrap(ctx.client.GET("/v1/projects/{project}/evidence/{id}", { params: { path: { project: ctx.project, id } } }));

    const expected = expectedFiles(pack.manifest);
    const unsafe = expected.map((f) => f.name).find((name) => !safeFileName(name) || name === MANIFEST);
    if (unsafe !== undefined) throw new CliError(`evidence pack ${id} names a file "${unsafe}" that cannot be written safely; nothing was written`);
    const files: PackFile[] = expected.map((f) => {
      const bytes = encodeEvidenceFile(pack.contents[f.name]);
      return { name: f.name, bytes, digest: sha256Digest(bytes) };
    });
    const manifestBytes = encodeEvidenceFile(pack.manifest);
    files.push({ name: MANIFEST, bytes: manifestBytes, digest: sha256Digest(manifestBytes) });
    const wrong = mismatches(
      files.filter((f) => f.name in pack.contents || f.name === MANIFEST),
      [...expected, { name: MANIFEST, digest: pack.manifest_digest }],
    );
    if (wrong.length > 0) {
      throw new CliError(`evidence pack ${id}: ${wrong.length === 1 ? "a file does" : `${wrong.length} files do`} not match the recorded digest: ${wrong.join("; ")}; nothing was written`, EXIT.error);
    }
    await writeFilesAtomically(out, files);
    const summary = { id, directory: out, files: files.map((f) => ({ name: f.name, digest: f.digest, size: f.bytes.byteLength })) };
    ctx.output(summary, (s) => [`Wrote evidence pack ${s.id} to ${s.directory}: ${s.files.length} files, each matching its sha256`, ...s.files.map((f) => `  ${f.name}  ${f.digest}`)]);
  },
};
