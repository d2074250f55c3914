/**
 * The `model` differ. Content `{"provider","model","revision"?,"params"?: {...}}` is flattened
 * to dotted leaves (`params.temperature`, `params.stop`, …; arrays are whole values), so a
 * nested param shows up as exactly the leaf that moved. Invariant: one entry per leaf that was
 * added (`from: null`), removed (`to: null`) or changed, sorted by `field` in code-unit order.
 */
import { diffFlattened } from "./config.js";
import { compareCodeUnits } from "../../core/compare.js";

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

export interface ModelDiff {
  changes: FieldChange[];
}

/** Leaf-level changes between two JSON values, in the `{field, from, to}` shape. */
export function diffFields(from: unknown, to: unknown): FieldChange[] {
  const flat = diffFlattened(from, to);
  return [...flat.added, ...flat.removed, ...flat.changed]
    .map(({ key, from: before, to: after }) => ({ field: key, from: before, to: after }))
    .sort((x, y) => compareCodeUnits(x.field, y.field));
}

export function diffModel(from: unknown, to: unknown): ModelDiff {
  return { changes: diffFields(from, to) };
}
