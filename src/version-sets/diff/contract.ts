/**
 * The contract compatibility checker (JSON Schema 2020-12).
 *
 * A schema is a conjunction of keyword constraints, so the comparison walks keyword by keyword
 * and gives each difference a *relation* between the sets of values the two schemas accept:
 * - `narrowed`: new ⊆ old for that keyword (a new required property, a tighter bound, …);
 * - `widened`: old ⊆ new (an enum value added, a bound relaxed, `additionalProperties: false`
 *   dropped, …);
 * - `changed`: neither is claimed (type string → number, pattern rewritten);
 * - `unclassified`: not modelled (oneOf, not, if/then/else, remote $ref, …);
 * - `neutral`: no effect on validity (title, description, examples, …).
 * A relation is only ever claimed when it holds, and applicators recurse covariantly
 * (properties, additionalProperties, items, prefixItems, propertyNames, allOf, anyOf, $ref), so
 * when every change is `narrowed` the whole new schema accepts a subset of the old one.
 *
 * Direction decides what breaks. `output` (contracts: the model produces, a consumer written for
 * the OLD schema reads): anything but narrowed/neutral is breaking. `input` (tool input schemas:
 * a caller written for the OLD schema produces): anything but widened/neutral is breaking. Tools
 * use the same walk with direction `input` instead of swapping arguments, so messages still say
 * what happened from old to new.
 *
 * Paths are JSONPath-style locations in the NEW schema document: `$` is the root, `.key` for
 * identifier-like keys, `["key"]` otherwise, `[i]` for array items — e.g.
 * `$.properties.answer.type`, `$.properties["first-name"].maxLength`, `$.prefixItems[0]`. A change
 * reached through a local `$ref` is reported where its target lives (`$.$defs.Item.required`),
 * once, however many places refer to it. Keyword order never matters: keys are visited sorted and
 * changes are returned sorted by path, then message.
 *
 * Depth: the walk recurses once per schema level and stops at MAX_SCHEMA_DEPTH; below that, a
 * subtree that differs is one unclassified (breaking) change. Equality checks are iterative, so
 * an identical 5 000-level schema still compares equal.
 */
import { isPlainObject, jsonEqual } from "./config.js";
import { compareCodeUnits } from "../../core/compare.js";
import {
  ANNOTATIONS, ASSERTION_KEYWORDS, cannot, compareAssertions, deref, firstSeen, refProblem, resolveRef, schemaEqual, segment,
  type Relation, type Roots, type Schema,
} from "./contract-schema.js";

export type { Relation } from "./contract-schema.js";
export { segment } from "./contract-schema.js";
export type Direction = "output" | "input";

export interface SchemaChange {
  path: string;
  relation: Relation;
  message: string;
}

export interface ContractChange {
  path: string;
  breaking: boolean;
  message: string;
}

export interface ContractDiff {
  breaking: boolean;
  changes: ContractChange[];
}

export const MAX_SCHEMA_DEPTH = 64;

const TWENTY_TWENTY = "https://json-schema.org/draft/2020-12/schema";
const MODELLED = new Set([
  ...ASSERTION_KEYWORDS, "properties", "additionalProperties", "patternProperties", "prefixItems", "items",
  "propertyNames", "allOf", "anyOf", "$ref", "$defs", "definitions",
]);

export function isBreaking(relation: Relation, direction: Direction): boolean {
  if (relation === "neutral") return false;
  if (relation === "narrowed") return direction === "input";
  if (relation === "widened") return direction === "output";
  return true;
}

/** Every difference between two schemas with its relation, sorted by path then message. */
export function compareSchemas(oldSchema: unknown, newSchema: unknown): SchemaChange[] {
  const ctx: Ctx = { oldRoot: oldSchema, newRoot: newSchema, out: [], seen: new Map() };
  if (!schemaEqual(ctx, oldSchema, newSchema)) compareNode(ctx, oldSchema, newSchema, "$", 0);
  return ctx.out.sort((x, y) => compareCodeUnits(x.path, y.path) || compareCodeUnits(x.message, y.message));
}

export function checkSchemas(oldSchema: unknown, newSchema: unknown, direction: Direction): ContractDiff {
  const changes = compareSchemas(oldSchema, newSchema).map(({ path, relation, message }) => ({
    path,
    breaking: isBreaking(relation, direction),
    message,
  }));
  return { breaking: changes.some((c) => c.breaking), changes };
}

/** Contract content is `{"schema": ...}`; a missing schema is read as `true` (accepts all). */
export function diffContract(from: unknown, to: unknown): ContractDiff {
  const schema = (content: unknown): unknown => (isPlainObject(content) && "schema" in content ? content.schema : true);
  return checkSchemas(schema(from), schema(to), "output");
}

interface Ctx extends Roots {
  out: SchemaChange[];
  /** Pairs (old node, new node) already compared: makes recursive $refs terminate. */
  seen: Map<object, Set<object>>;
}

function push(ctx: Ctx, path: string, relation: Relation, message: string): void {
  ctx.out.push({ path, relation, message });
}

function unclassified(ctx: Ctx, path: string, what: string): void {
  push(ctx, path, "unclassified", cannot(what));
}

function compareNode(ctx: Ctx, oldIn: unknown, newIn: unknown, pathIn: string, depth: number): void {
  const o = deref(ctx.oldRoot, oldIn, pathIn);
  const n = deref(ctx.newRoot, newIn, pathIn);
  const path = n.path;
  if (o.unresolved !== undefined || n.unresolved !== undefined) {
    const same = o.unresolved !== undefined && n.unresolved !== undefined && schemaEqual(ctx, o.node, n.node);
    // Reported where the comparison entered, not somewhere along the chain of references.
    if (!same) unclassified(ctx, pathIn, (o.unresolved ?? n.unresolved)!);
    return;
  }
  if (depth > MAX_SCHEMA_DEPTH) {
    if (!schemaEqual(ctx, o.node, n.node)) unclassified(ctx, path, `schema nested deeper than ${MAX_SCHEMA_DEPTH} levels changed`);
    return;
  }
  if (!firstSeen(ctx.seen, o.node, n.node)) return;
  const os: Schema | false | undefined = o.node === true ? {} : o.node === false ? false : isPlainObject(o.node) ? o.node : undefined;
  const ns: Schema | false | undefined = n.node === true ? {} : n.node === false ? false : isPlainObject(n.node) ? n.node : undefined;
  if (os === undefined || ns === undefined) {
    if (!schemaEqual(ctx, o.node, n.node)) unclassified(ctx, path, "value is not a JSON Schema");
    return;
  }
  if (os === false || ns === false) {
    if (os !== false) push(ctx, path, "narrowed", "schema now rejects every value (false)");
    else if (ns !== false) push(ctx, path, "widened", "schema no longer rejects every value (was false)");
    return;
  }
  if (["unevaluatedProperties", "unevaluatedItems"].some((k) => k in os || k in ns)) {
    if (!schemaEqual(ctx, os, ns)) unclassified(ctx, path, "schema using unevaluatedProperties/unevaluatedItems changed");
    return;
  }
  const child = (a: unknown, b: unknown, at: string): void => compareNode(ctx, a, b, at, depth + 1);
  compareKeywords(ctx, os, ns, path, child, depth);
}

type Child = (oldNode: unknown, newNode: unknown, path: string) => void;

function compareKeywords(ctx: Ctx, os: Schema, ns: Schema, path: string, child: Child, depth: number): void {
  compareAssertions((at, relation, message) => push(ctx, at, relation, message), os, ns, path);
  compareObject(ctx, os, ns, path, child, depth);
  compareArray(ctx, os, ns, path, child, depth);
  if ("propertyNames" in os || "propertyNames" in ns) {
    child(os.propertyNames ?? true, ns.propertyNames ?? true, segment(path, "propertyNames"));
  }
  compareBranches(ctx, "allOf", os.allOf, ns.allOf, path, child);
  compareBranches(ctx, "anyOf", os.anyOf, ns.anyOf, path, child);
  compareSiblingRef(ctx, os.$ref, ns.$ref, path, child);
  const keys = [...new Set([...Object.keys(os), ...Object.keys(ns)])].sort(compareCodeUnits);
  for (const key of keys) {
    if (MODELLED.has(key) || schemaEqual(ctx, os[key], ns[key])) continue;
    const what = !(key in os) ? "added" : !(key in ns) ? "removed"
      : jsonEqual(os[key], ns[key]) ? "unchanged but a $ref inside it now resolves to a changed schema" : "changed";
    const dialect = key === "$schema" && [os[key], ns[key]].every((v) => v === undefined || v === TWENTY_TWENTY);
    if (ANNOTATIONS.has(key) || dialect) push(ctx, segment(path, key), "neutral", `"${key}" ${what}`);
    else unclassified(ctx, segment(path, key), `"${key}" ${what}`);
  }
}

/** Runs one comparison and reports it as a single change (for a property or tuple slot that
 * appeared or disappeared, whose details would only be noise). */
function summarize(ctx: Ctx, oldNode: unknown, newNode: unknown, path: string, depth: number, message: string): void {
  const outer = ctx.out;
  ctx.out = [];
  compareNode(ctx, oldNode, newNode, path, depth + 1);
  const inner = ctx.out;
  ctx.out = outer;
  const kinds = new Set(inner.map((c) => c.relation).filter((r) => r !== "neutral"));
  const relation: Relation = kinds.size === 0 ? "neutral" : kinds.has("unclassified") ? "unclassified"
    : kinds.size === 1 ? [...kinds][0]! : "changed";
  const reason = inner.find((c) => c.relation === relation || relation === "changed");
  const suffix = relation === "neutral" ? " (no new constraint)"
    : relation === "unclassified" || relation === "changed" ? ` (${reason?.message})` : "";
  push(ctx, path, relation, `${message}${suffix}`);
}


/**
 * properties / patternProperties / additionalProperties. The schema a property name meets is
 * properties[name] (∧ matching patternProperties), else the matching patterns, else
 * additionalProperties; so a property added to `properties` is compared with what governed that
 * name before, and the additionalProperties comparison covers every other name.
 */
function compareObject(ctx: Ctx, os: Schema, ns: Schema, path: string, child: Child, depth: number): void {
  const props = (s: Schema): Schema | null => (s.properties === undefined ? {} : isPlainObject(s.properties) ? s.properties : null);
  const po = props(os);
  const pn = props(ns);
  if (po === null || pn === null) {
    if (!schemaEqual(ctx, os.properties, ns.properties)) unclassified(ctx, segment(path, "properties"), "properties is not an object");
    return;
  }
  const patternsOld = os.patternProperties ?? {};
  const patternsNew = ns.patternProperties ?? {};
  if (!schemaEqual(ctx, patternsOld, patternsNew)) unclassified(ctx, segment(path, "patternProperties"), "patternProperties changed");
  const patterns = isPlainObject(patternsNew) ? Object.keys(patternsNew) : [];
  const matchesPattern = (name: string): boolean | undefined => {
    try {
      return patterns.some((p) => new RegExp(p, "u").test(name));
    } catch {
      return undefined;
    }
  };
  const extraOld = os.additionalProperties ?? true;
  const extraNew = ns.additionalProperties ?? true;
  for (const name of [...new Set([...Object.keys(po), ...Object.keys(pn)])].sort(compareCodeUnits)) {
    const at = segment(segment(path, "properties"), name);
    const inOld = Object.hasOwn(po, name);
    const inNew = Object.hasOwn(pn, name);
    if (inOld && inNew) {
      child(po[name], pn[name], at);
      continue;
    }
    const what = `property "${name}" ${inNew ? "added" : "removed"}`;
    const matched = matchesPattern(name);
    if (matched === undefined) unclassified(ctx, at, `${what} next to a patternProperties regex that does not compile`);
    // With a matching pattern, the property schema is one more conjunct on top of the pattern's.
    else if (matched) push(ctx, at, inNew ? "narrowed" : "widened", `${what} (its name matches patternProperties)`);
    else if (inNew) summarize(ctx, extraOld, pn[name], at, depth, what);
    else summarize(ctx, po[name], extraNew, at, depth, what);
  }
  if (!("additionalProperties" in os || "additionalProperties" in ns)) return;
  const at = segment(path, "additionalProperties");
  if (typeof extraOld === "boolean" && typeof extraNew === "boolean") {
    if (extraOld && !extraNew) push(ctx, at, "narrowed", "additionalProperties: false added");
    if (!extraOld && extraNew) push(ctx, at, "widened", "additionalProperties: false dropped");
    return;
  }
  child(extraOld, extraNew, at);
}

/** prefixItems / items (2020-12 forms): slot i meets prefixItems[i], else items. */
function compareArray(ctx: Ctx, os: Schema, ns: Schema, path: string, child: Child, depth: number): void {
  const list = (v: unknown): unknown[] | null => (v === undefined ? [] : Array.isArray(v) ? v : null);
  const po = list(os.prefixItems);
  const pn = list(ns.prefixItems);
  if (po === null || pn === null || Array.isArray(os.items) || Array.isArray(ns.items)) {
    for (const kw of ["prefixItems", "items"]) {
      if (!schemaEqual(ctx, os[kw], ns[kw])) unclassified(ctx, segment(path, kw), `${kw} in a form other than 2020-12's changed`);
    }
    return;
  }
  const itemsOld = os.items ?? true;
  const itemsNew = ns.items ?? true;
  for (let i = 0; i < Math.max(po.length, pn.length); i++) {
    const at = segment(segment(path, "prefixItems"), i);
    if (i < po.length && i < pn.length) child(po[i], pn[i], at);
    else if (i < pn.length) summarize(ctx, itemsOld, pn[i], at, depth, `prefixItems[${i}] added`);
    else summarize(ctx, po[i], itemsNew, at, depth, `prefixItems[${i}] removed`);
  }
  if ("items" in os || "items" in ns) child(itemsOld, itemsNew, segment(path, "items"));
}

/**
 * allOf / anyOf. Branches equal on both sides are matched first (order is irrelevant to both
 * keywords); the rest are paired in order and compared covariantly. A conjunct added narrows and
 * a disjunct added widens; removing one does the reverse. An absent allOf is `[]`.
 */
function compareBranches(ctx: Ctx, kw: "allOf" | "anyOf", ov: unknown, nv: unknown, path: string, child: Child): void {
  if (ov === undefined && nv === undefined) return;
  const at = segment(path, kw);
  if ((ov !== undefined && !Array.isArray(ov)) || (nv !== undefined && !Array.isArray(nv))) {
    if (!schemaEqual(ctx, ov, nv)) unclassified(ctx, at, `${kw} is not an array`);
    return;
  }
  if (kw === "anyOf" && (ov === undefined || nv === undefined)) {
    return push(ctx, at, ov === undefined ? "narrowed" : "widened", `anyOf ${ov === undefined ? "added" : "removed"}`);
  }
  const olds = (ov ?? []) as unknown[];
  const news = (nv ?? []) as unknown[];
  const used = new Set<number>();
  const unmatchedOld: number[] = [];
  olds.forEach((branch, i) => {
    const j = news.findIndex((candidate, k) => !used.has(k) && schemaEqual(ctx, branch, candidate));
    if (j === -1) unmatchedOld.push(i);
    else used.add(j);
  });
  const unmatchedNew = news.map((_, k) => k).filter((k) => !used.has(k));
  const pairs = Math.min(unmatchedOld.length, unmatchedNew.length);
  for (let p = 0; p < pairs; p++) child(olds[unmatchedOld[p]!], news[unmatchedNew[p]!], segment(at, unmatchedNew[p]!));
  for (const k of unmatchedNew.slice(pairs)) push(ctx, segment(at, k), kw === "allOf" ? "narrowed" : "widened", `${kw} branch added`);
  for (const i of unmatchedOld.slice(pairs)) push(ctx, at, kw === "allOf" ? "widened" : "narrowed", `${kw} branch ${i} removed`);
}

/** A `$ref` beside other assertions is one more conjunct (a bare `$ref` was followed by deref). */
function compareSiblingRef(ctx: Ctx, ov: unknown, nv: unknown, path: string, child: Child): void {
  if (ov === undefined && nv === undefined) return;
  const at = segment(path, "$ref");
  if (typeof ov === "string" && typeof nv === "string") {
    const targetOld = resolveRef(ctx.oldRoot, ov);
    const targetNew = resolveRef(ctx.newRoot, nv);
    if (targetOld && targetNew) child(targetOld.node, targetNew.node, targetNew.path);
    else if (!(ov === nv && !targetOld && !targetNew)) {
      unclassified(ctx, at, refProblem(targetOld ? nv : ov));
    }
    return;
  }
  if (ov === undefined && typeof nv === "string") return push(ctx, at, "narrowed", `$ref ${nv} added`);
  if (nv === undefined && typeof ov === "string") return push(ctx, at, "widened", `$ref ${ov} removed`);
  unclassified(ctx, at, "$ref is not a string");
}
