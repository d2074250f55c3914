/**
 * The `tools` differ. Content `{"tools": [{"name","description","input_schema","permissions"?}]}`;
 * tools are matched by name. A changed tool lists `{path, breaking, message}` entries whose
 * paths are JSONPath-style locations inside the tool object (`$.description`,
 * `$.input_schema.properties.city.type`, `$.permissions`).
 *
 * What breaks a tool is the reverse of a contract: the model (the caller) writes the input, and a
 * caller written for the OLD schema must still be accepted, so the input schema is checked with
 * direction `input` — a new required parameter, a tighter bound or an enum value removed breaks;
 * loosening does not. A permission added widens what the tool may do and is breaking (it needs a
 * review); a permission removed is not; a description change is never breaking. Any other field
 * that changes is unclassifiable and therefore breaking.
 */
import { isPlainObject, jsonEqual } from "./config.js";
import { compareCodeUnits } from "../../core/compare.js";
import { canonicalJson } from "../../core/canonical-json.js";
import { compareSchemas, isBreaking, segment } from "./contract.js";

export interface ToolChange {
  path: string;
  breaking: boolean;
  message: string;
}

export interface ChangedTool {
  name: string;
  breaking: boolean;
  changes: ToolChange[];
}

export interface ToolsDiff {
  added: string[];
  removed: string[];
  changed: ChangedTool[];
}

function toolsByName(content: unknown): Map<string, Record<string, unknown>> {
  const tools = isPlainObject(content) && Array.isArray(content.tools) ? content.tools : [];
  const byName = new Map<string, Record<string, unknown>>();
  // Validation rejects duplicate names; should one slip through, the last definition wins.
  for (const tool of tools) if (isPlainObject(tool) && typeof tool.name === "string") byName.set(tool.name, tool);
  return byName;
}

/** Permissions are a list of grants (strings); absent means none. */
function comparePermissions(before: unknown, after: unknown): ToolChange[] {
  const list = (v: unknown): unknown[] | null => (v === undefined ? [] : Array.isArray(v) ? v : null);
  const o = list(before);
  const n = list(after);
  if (o === null || n === null) {
    return [{ path: "$.permissions", breaking: true, message: "permissions changed; could not be classified" }];
  }
  const keysBefore = new Set(o.map(canonicalJson));
  const keysAfter = new Set(n.map(canonicalJson));
  const changes: ToolChange[] = [];
  for (const key of [...keysAfter].sort(compareCodeUnits)) {
    if (!keysBefore.has(key)) changes.push({ path: "$.permissions", breaking: true, message: `permission ${key} added` });
  }
  for (const key of [...keysBefore].sort(compareCodeUnits)) {
    if (!keysAfter.has(key)) changes.push({ path: "$.permissions", breaking: false, message: `permission ${key} removed` });
  }
  return changes;
}

function compareTool(before: Record<string, unknown>, after: Record<string, unknown>): ToolChange[] {
  const changes: ToolChange[] = [];
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort(compareCodeUnits);
  for (const field of fields) {
    if (field === "name" || jsonEqual(before[field], after[field])) continue;
    if (field === "input_schema") {
      for (const change of compareSchemas(before.input_schema ?? true, after.input_schema ?? true)) {
        changes.push({
          path: `$.input_schema${change.path.slice(1)}`,
          breaking: isBreaking(change.relation, "input"),
          message: change.message,
        });
      }
    } else if (field === "permissions") {
      changes.push(...comparePermissions(before.permissions, after.permissions));
    } else if (field === "description") {
      changes.push({ path: "$.description", breaking: false, message: "description changed" });
    } else {
      const what = !(field in before) ? "added" : !(field in after) ? "removed" : "changed";
      changes.push({ path: segment("$", field), breaking: true, message: `"${field}" ${what}; could not be classified` });
    }
  }
  return changes;
}

export function diffTools(from: unknown, to: unknown): ToolsDiff {
  const before = toolsByName(from);
  const after = toolsByName(to);
  const changed: ChangedTool[] = [];
  for (const name of [...after.keys()].sort(compareCodeUnits)) {
    const old = before.get(name);
    if (!old) continue;
    const changes = compareTool(old, after.get(name)!);
    if (changes.length > 0) changed.push({ name, breaking: changes.some((c) => c.breaking), changes });
  }
  return {
    added: [...after.keys()].filter((name) => !before.has(name)).sort(compareCodeUnits),
    removed: [...before.keys()].filter((name) => !after.has(name)).sort(compareCodeUnits),
    changed,
  };
}
