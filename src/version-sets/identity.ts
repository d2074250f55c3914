import { z } from "zod";
import { canonicalJson, sha256Hex } from "../core/canonical-json.js";
import type { CodeRef, PinnedComponent } from "./ports.js";

export const VERSION_SET_ID_PATTERN = /^vs_[0-9a-f]{24}$/;

export const versionSetIdSchema = z.string().regex(VERSION_SET_ID_PATTERN, "must be vs_ followed by 24 lowercase hex digits");

/**
 * The id of a version set: `vs_` + the first 24 hex digits of
 *
 *   sha256( canonicalJson({ "components": { "<slot>": {"kind","name","version","digest"}, … },
 *                           "code": {"repo","commit"} | null }) )
 *
 * where canonicalJson is RFC 8785 (src/canonical-json.ts), `components` is exactly the pinned
 * object a create returns, and `code` is the stored code reference or null when absent. So a
 * client can recompute the id from a set's own JSON.
 *
 * Each slot hashes its kind and name, not only its digest: two artifacts (say config/a and
 * config/b) can hold identical content and so share a digest, yet a set pinning one is not the
 * set pinning the other. The version adds no entropy (a digest has one version per artifact)
 * but keeps the hash input identical to the response. The description is not hashed: it is a
 * note about the set, so the same pinned content under another description is the same set.
 */
export function versionSetId(components: Record<string, PinnedComponent>, code: CodeRef | null): string {
  const pinned: Record<string, PinnedComponent> = {};
  for (const [slot, c] of Object.entries(components)) pinned[slot] = { kind: c.kind, name: c.name, version: c.version, digest: c.digest };
  const hashed = { components: pinned, code: code ? { repo: code.repo, commit: code.commit } : null };
  return `vs_${sha256Hex(canonicalJson(hashed)).slice(0, 24)}`;
}
