/**
 * The `evalset` differ. Content `{"cases": [{"id","input","expect"?,"tags"?,"source_trace_id"?}]}`;
 * cases are matched by id, and a case is `changed` when any of its fields differs (compared as
 * canonical JSON). Every list is sorted in code-unit order.
 */
import { isPlainObject } from "./config.js";
import { compareCodeUnits } from "../../core/compare.js";
import { canonicalJson } from "../../core/canonical-json.js";

export interface EvalsetDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

/** id → canonical JSON of the case. Validation rejects duplicate ids; should one slip through, the last wins. */
export function casesById(content: unknown): Map<string, string> {
  const cases = isPlainObject(content) && Array.isArray(content.cases) ? content.cases : [];
  const byId = new Map<string, string>();
  for (const c of cases) if (isPlainObject(c) && typeof c.id === "string") byId.set(c.id, canonicalJson(c));
  return byId;
}

export function diffEvalset(from: unknown, to: unknown): EvalsetDiff {
  const before = casesById(from);
  const after = casesById(to);
  return {
    added: [...after.keys()].filter((id) => !before.has(id)).sort(compareCodeUnits),
    removed: [...before.keys()].filter((id) => !after.has(id)).sort(compareCodeUnits),
    changed: [...after.keys()].filter((id) => before.has(id) && before.get(id) !== after.get(id)).sort(compareCodeUnits),
  };
}
