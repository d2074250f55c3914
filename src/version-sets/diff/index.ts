/**
 * Entry point of the version-set diff: pure functions, no I/O. The service loads both sets'
 * components (with content) and hands them here; the result is the `components` array of
 * `GET /v1/projects/{p}/diff`.
 *
 * Invariants of diffSlots: one entry per slot of either set, sorted by slot name (code-unit
 * order); `unchanged` exactly when both sides pin the same kind and digest (the digest is the
 * hash of the canonical content, so equal digests mean equal content) and then detail is null;
 * `added` / `removed` have detail null; a slot whose kind changed is `changed` with detail
 * `{"kind_changed": {"from","to"}}`, since the two contents have no common differ; `from` / `to`
 * never carry content.
 */
import type { ArtifactKind } from "../../artifacts/kinds/types.js";
import { diffConfig } from "./config.js";
import { compareCodeUnits } from "../../core/compare.js";
import type { PinnedComponent } from "../ports.js";
import { diffContract } from "./contract.js";
import { diffEvalset } from "./evalset.js";
import { diffIndex } from "./index-files.js";
import { diffModel } from "./model.js";
import { diffPrompt } from "./prompt.js";
import { diffTools } from "./tools.js";

export type { ArtifactKind } from "../../artifacts/kinds/types.js";

export type { PinnedComponent };

export interface DiffSide extends PinnedComponent {
  content: unknown;
}

export type SlotChange = "added" | "removed" | "changed" | "unchanged";

export interface ComponentDiff {
  slot: string;
  change: SlotChange;
  from: PinnedComponent | null;
  to: PinnedComponent | null;
  detail: unknown | null;
}

export interface ContentDiffOptions {
  /** Labels of the unified diff headers (prompts only): `--- a/<from>` / `+++ b/<to>`. */
  fromLabel?: string;
  toLabel?: string;
}

/** The kind's `detail` for two contents of the same kind (see API.md, "Version sets"). */
export function diffComponentContent(kind: ArtifactKind, from: unknown, to: unknown, options: ContentDiffOptions = {}): unknown {
  switch (kind) {
    case "prompt":
      return diffPrompt(from, to, options);
    case "contract":
      return diffContract(from, to);
    case "model":
      return diffModel(from, to);
    case "index":
      return diffIndex(from, to);
    case "tools":
      return diffTools(from, to);
    case "config":
      return diffConfig(from, to);
    case "evalset":
      return diffEvalset(from, to);
    default: {
      const unknownKind: never = kind;
      throw new TypeError(`no differ for artifact kind ${String(unknownKind)}`);
    }
  }
}

function pinned(side: DiffSide): PinnedComponent {
  return { kind: side.kind, name: side.name, version: side.version, digest: side.digest };
}

/**
 * Computes a changed slot's detail; the version-set service passes one that sends schema
 * comparisons (contracts, tools) to a worker thread, so it may answer with a promise.
 */
export type ContentDiffer = (kind: ArtifactKind, from: unknown, to: unknown, options: ContentDiffOptions) => unknown;

type Planned = ComponentDiff | { pending: Omit<ComponentDiff, "detail" | "change">; kind: ArtifactKind; from: unknown; to: unknown; labels: ContentDiffOptions };

function planSlots(from: Record<string, DiffSide>, to: Record<string, DiffSide>): Planned[] {
  const slots = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort(compareCodeUnits);
  return slots.map((slot): Planned => {
    const before = Object.hasOwn(from, slot) ? from[slot] : undefined;
    const after = Object.hasOwn(to, slot) ? to[slot] : undefined;
    if (!before) return { slot, change: "added", from: null, to: pinned(after!), detail: null };
    if (!after) return { slot, change: "removed", from: pinned(before), to: null, detail: null };
    const base = { slot, from: pinned(before), to: pinned(after) };
    if (before.kind !== after.kind) {
      return { ...base, change: "changed", detail: { kind_changed: { from: before.kind, to: after.kind } } };
    }
    if (before.digest === after.digest) return { ...base, change: "unchanged", detail: null };
    return { pending: base, kind: before.kind, from: before.content, to: after.content, labels: { fromLabel: before.name, toLabel: after.name } };
  });
}

function changed(p: Extract<Planned, { pending: unknown }>, detail: unknown): ComponentDiff {
  return { slot: p.pending.slot, change: "changed", from: p.pending.from, to: p.pending.to, detail };
}

export function diffSlots(from: Record<string, DiffSide>, to: Record<string, DiffSide>): ComponentDiff[] {
  return planSlots(from, to).map((p) =>
    "pending" in p ? changed(p, diffComponentContent(p.kind, p.from, p.to, p.labels)) : p,
  );
}

/**
 * diffSlots with the changed slots' details from `differ`, one after the other: a diff is one
 * request, so it takes one schema worker at a time instead of filling the pool's queue.
 */
export async function diffSlotsWith(from: Record<string, DiffSide>, to: Record<string, DiffSide>, differ: ContentDiffer): Promise<ComponentDiff[]> {
  const out: ComponentDiff[] = [];
  for (const p of planSlots(from, to)) out.push("pending" in p ? changed(p, await differ(p.kind, p.from, p.to, p.labels)) : p);
  return out;
}
