import { isPlainObject, jsonEqual } from "../version-sets/diff/config.js";
import { compareCodeUnits } from "../core/compare.js";
import type { ContractDiff } from "../version-sets/diff/contract.js";
import type { ToolsDiff } from "../version-sets/diff/tools.js";

/**
 * The detail of a contract or tools slot whose schema comparison ran out of its budget: the
 * same shapes as the real differs, with the schema reported as changed, unclassified and
 * therefore breaking — a reviewer is told to look, never told it is safe. Tools still list
 * which tools were added, removed or changed (by name and equality: linear work).
 */
export function fallbackSchemaDiff(kind: "contract" | "tools" | string, from: unknown, to: unknown, why: string): ContractDiff | ToolsDiff {
  const message = `schema ${why}; could not be classified`;
  if (kind === "contract") return { breaking: true, changes: [{ path: "$", breaking: true, message }] };
  const byName = (content: unknown) => {
    const tools = isPlainObject(content) && Array.isArray(content.tools) ? content.tools : [];
    return new Map(tools.filter(isPlainObject).filter((t) => typeof t.name === "string").map((t) => [t.name as string, t]));
  };
  const before = byName(from);
  const after = byName(to);
  const names = (a: Map<string, unknown>, b: Map<string, unknown>) => [...a.keys()].filter((n) => !b.has(n)).sort(compareCodeUnits);
  const changed = [...after.keys()]
    .filter((n) => before.has(n) && !jsonEqual(before.get(n), after.get(n)))
    .sort(compareCodeUnits)
    .map((name) => ({ name, breaking: true, changes: [{ path: "$.input_schema", breaking: true, message }] }));
  return { added: names(after, before), removed: names(before, after), changed };
}
