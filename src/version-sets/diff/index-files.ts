/**
 * The `index` differ. Content `{"files": [{"path","digest","size"}], "metadata"?: {...}}`.
 * A file is identified by its path; `changed` means the same path now names different bytes
 * (a different digest — the size alone cannot differ for equal digests). Every list is sorted
 * in code-unit order. Metadata uses the model differ's dotted `{field, from, to}` entries.
 */
import { isPlainObject } from "./config.js";
import { compareCodeUnits } from "../../core/compare.js";
import { diffFields, type FieldChange } from "./model.js";

export interface IndexDiff {
  files: { added: string[]; removed: string[]; changed: string[] };
  metadata: FieldChange[];
}

/** path → digest. Validation rejects duplicate paths; should one slip through, the last wins. */
function filesByPath(content: unknown): Map<string, unknown> {
  const files = isPlainObject(content) && Array.isArray(content.files) ? content.files : [];
  const byPath = new Map<string, unknown>();
  for (const file of files) {
    if (isPlainObject(file) && typeof file.path === "string") byPath.set(file.path, file.digest);
  }
  return byPath;
}

export function diffIndex(from: unknown, to: unknown): IndexDiff {
  const before = filesByPath(from);
  const after = filesByPath(to);
  const added = [...after.keys()].filter((path) => !before.has(path));
  const removed = [...before.keys()].filter((path) => !after.has(path));
  const changed = [...after.keys()].filter((path) => before.has(path) && before.get(path) !== after.get(path));
  const metadata = (content: unknown): unknown => (isPlainObject(content) && isPlainObject(content.metadata) ? content.metadata : {});
  return {
    files: { added: added.sort(compareCodeUnits), removed: removed.sort(compareCodeUnits), changed: changed.sort(compareCodeUnits) },
    metadata: diffFields(metadata(from), metadata(to)),
  };
}
