import type { ArtifactRef } from "../artifacts/ports.js";
import { parseArtifactRef } from "../artifacts/service.js";
import { ARTIFACT_KINDS, isArtifactKind, type ArtifactKind } from "../artifacts/kinds/index.js";
import { NAME_PATTERN } from "../core/names.js";

/** A component reference `<kind>/<name>@<ref>` as written in a create request, parsed. */
export interface ComponentReference {
  kind: ArtifactKind;
  name: string;
  ref: ArtifactRef;
}

export type ParsedReference = { ok: true; reference: ComponentReference } | { ok: false; message: string };

/** Longest reference text accepted: kind (8) + "/" + name (128) + "@" + digest (71), with room. */
export const MAX_REFERENCE_LENGTH = 256;

const SHAPE = /^([^/@]*)\/([^/@]*)@([^/@]*)$/;

/**
 * Parses one reference. Names never contain `/` or `@`, so the text has exactly one of each;
 * the message says which part is wrong so a 422 can point at it.
 */
export function parseComponentReference(text: string): ParsedReference {
  if (text.length > MAX_REFERENCE_LENGTH) return { ok: false, message: `is longer than ${MAX_REFERENCE_LENGTH} characters` };
  const match = SHAPE.exec(text);
  if (!match) return { ok: false, message: `must be <kind>/<name>@<ref> (e.g. prompt/answer@latest), not ${JSON.stringify(text)}` };
  const [, kind = "", name = "", refText = ""] = match;
  if (!isArtifactKind(kind)) return { ok: false, message: `unknown kind ${JSON.stringify(kind)}: must be one of ${ARTIFACT_KINDS.join(", ")}` };
  if (!NAME_PATTERN.test(name)) return { ok: false, message: `artifact name ${JSON.stringify(name)} must match ${NAME_PATTERN.source}` };
  const ref = parseArtifactRef(refText);
  if (!ref) return { ok: false, message: `ref ${JSON.stringify(refText)} must be a version number, sha256:<64 hex> or latest` };
  return { ok: true, reference: { kind, name, ref } };
}

export function formatReference(reference: ComponentReference): string {
  const ref = reference.ref;
  const text = ref.by === "latest" ? "latest" : ref.by === "version" ? String(ref.version) : ref.digest;
  return `${reference.kind}/${reference.name}@${text}`;
}
