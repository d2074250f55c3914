import type { ArtifactKind } from "../artifacts/kinds/index.js";
import { compareCodeUnits } from "../core/compare.js";
import type { ComponentDiff } from "./diff/index.js";
import type { CodeRef, PinnedComponent, VersionSetRecord } from "./ports.js";
import { summarize } from "./summary.js";

/** What clients see of sets, bundles and diffs (openapi/pinset.yaml: VersionSet, Bundle, VersionSetDiff). */
export interface VersionSetDiff {
  from: string;
  to: string;
  components: ComponentDiff[];
}

export interface VersionSetView {
  id: string;
  components: Record<string, PinnedComponent>;
  code: CodeRef | null;
  description: string | null;
  summary: Record<string, string>;
  created_at: string;
}

/** A file of an index component, with the path to download its bytes from. */
export interface BundleFile {
  path: string;
  digest: string;
  size: number;
  /** `/v1/projects/{project}/blobs/{digest}`: relative to the registry's base URL. */
  url: string;
}

export interface BundleComponent extends PinnedComponent {
  content: unknown;
  /** Index components only: every file of `content.files` with its download path. */
  files?: BundleFile[];
}

export interface BundleView extends VersionSetView {
  components: Record<string, BundleComponent>;
}

export function blobUrl(project: string, digest: string): string {
  return `/v1/projects/${project}/blobs/${digest}`;
}

export function present(row: VersionSetRecord): VersionSetView {
  const components: Record<string, PinnedComponent> = {};
  for (const slot of Object.keys(row.components).sort(compareCodeUnits)) {
    const c = row.components[slot]!;
    // Only kinds that passed parseComponentReference are ever stored.
    components[slot] = { kind: c.kind as ArtifactKind, name: c.name, version: c.version, digest: c.digest };
  }
  const code = row.code ? { repo: row.code.repo, commit: row.code.commit } : null;
  return {
    id: row.id,
    components,
    code,
    description: row.description,
    summary: summarize(components, code),
    created_at: row.created_at.toISOString(),
  };
}

/** The files of an index manifest (validated at publish) with their blob download paths. */
export function indexFiles(project: string, content: unknown): BundleFile[] {
  const files = (content as { files?: Array<{ path: string; digest: string; size: number }> }).files ?? [];
  return files.map((f) => ({ path: f.path, digest: f.digest, size: f.size, url: blobUrl(project, f.digest) }));
}
