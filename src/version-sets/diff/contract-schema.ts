/**
 * Schema primitives of the contract checker (contract.ts holds the model and the walk):
 * - paths (`segment`), local `$ref` resolution and iterative, reference-aware equality;
 * - the assertion keywords, which constrain the instance at hand without descending into
 *   sub-schemas: type, enum/const, numeric bounds, length/count bounds, multipleOf, pattern,
 *   format, uniqueItems, required. Each rule claims `narrowed` / `widened` only when the
 *   inclusion holds; when it cannot tell it says `changed` (both ways) or `unclassified`.
 * Split out of contract.ts to keep both files readable; only contract.ts imports this file.
 */
import { isPlainObject, jsonEqual } from "./config.js";
import { compareCodeUnits } from "../../core/compare.js";
import { canonicalJson } from "../../core/canonical-json.js";

export type Relation = "narrowed" | "widened" | "changed" | "neutral" | "unclassified";
export type Emit = (path: string, relation: Relation, message: string) => void;
export type Schema = Record<string, unknown>;

export const ANNOTATIONS = new Set([
  "title", "description", "$comment", "default", "examples", "deprecated", "readOnly", "writeOnly",
  "$id", "$anchor", "contentEncoding", "contentMediaType", "contentSchema",
]);

/** The two documents being compared; local `$ref`s resolve against them. */
export interface Roots {
  oldRoot: unknown;
  newRoot: unknown;
}

export const COUNT_KEYWORDS = ["minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"];
export const ASSERTION_KEYWORDS = [
  "type", "enum", "const", "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf",
  ...COUNT_KEYWORDS, "pattern", "format", "uniqueItems", "required",
];

/** Every unclassifiable change says so in the same words. */
export function cannot(what: string): string {
  return `${what}; could not be classified`;
}

/** One JSONPath step: `.key` for identifier-like keys, `["key"]` otherwise, `[i]` for indices. */
export function segment(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** A value quoted in a message: canonical JSON, cut at 80 characters. */
export function show(value: unknown): string {
  const text = canonicalJson(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function firstSeen(seen: Map<object, Set<object>>, a: unknown, b: unknown): boolean {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) return true;
  let partners = seen.get(a);
  if (!partners) seen.set(a, (partners = new Set()));
  if (partners.has(b)) return false;
  partners.add(b);
  return true;
}

/** Why a `$ref` that resolveRef could not follow is unclassifiable. */
export function refProblem(ref: string): string {
  return ref.startsWith("#") ? `$ref ${ref} does not resolve to a location in the schema`
    : `$ref ${ref} is not a local reference and is never fetched`;
}

/** Resolves `#` and `#/json/pointer` inside `root`; anything else (remote, anchors) is undefined. */
export function resolveRef(root: unknown, ref: string): { node: unknown; path: string } | undefined {
  if (ref !== "#" && !ref.startsWith("#/")) return undefined;
  let pointer: string;
  try {
    pointer = decodeURIComponent(ref.slice(1));
  } catch {
    return undefined;
  }
  let node = root;
  let path = "$";
  for (const raw of pointer === "" ? [] : pointer.slice(1).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(node) && /^(0|[1-9][0-9]*)$/.test(key) && Number(key) < node.length) {
      node = node[Number(key)];
      path = segment(path, Number(key));
    } else if (isPlainObject(node) && Object.hasOwn(node, key)) {
      node = node[key];
      path = segment(path, key);
    } else {
      return undefined;
    }
  }
  return { node, path };
}

/**
 * Follows `$ref` while the node is a bare reference (nothing but annotations beside it); the path
 * becomes the target's location. `unresolved` is the reason when a reference cannot be followed.
 */
export function deref(root: unknown, node: unknown, path: string): { node: unknown; path: string; unresolved?: string } {
  const chain = new Set<string>();
  let current = node;
  let at = path;
  while (isPlainObject(current) && typeof current.$ref === "string" &&
    Object.keys(current).every((k) => k === "$ref" || ANNOTATIONS.has(k))) {
    const ref = current.$ref;
    if (chain.has(ref)) return { node: current, path: at, unresolved: `$ref ${ref} only refers to references` };
    chain.add(ref);
    const target = resolveRef(root, ref);
    if (!target) return { node: current, path: at, unresolved: refProblem(ref) };
    current = target.node;
    at = target.path;
  }
  return { node: current, path: at };
}

/**
 * Structural equality of two schema fragments that also requires every local `$ref` inside them
 * to resolve to equal targets (a textually equal `{"$ref": "#/$defs/X"}` hides a changed X).
 */
export function schemaEqual(ctx: Roots, left: unknown, right: unknown): boolean {
  const stack: Array<[unknown, unknown]> = [[left, right]];
  const seen = new Map<object, Set<object>>();
  while (stack.length > 0) {
    const [a, b] = stack.pop()!;
    if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) {
      if (a !== b) return false;
      continue;
    }
    if (!firstSeen(seen, a, b)) continue;
    if (Array.isArray(a) || Array.isArray(b)) {
      if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
      a.forEach((item, i) => stack.push([item, b[i]]));
      continue;
    }
    const ao = a as Schema;
    const bo = b as Schema;
    const keys = Object.keys(ao);
    if (keys.length !== Object.keys(bo).length || !keys.every((k) => Object.hasOwn(bo, k))) return false;
    for (const key of keys) stack.push([ao[key], bo[key]]);
    if (typeof ao.$ref === "string" && ao.$ref === bo.$ref) {
      const ta = resolveRef(ctx.oldRoot, ao.$ref);
      const tb = resolveRef(ctx.newRoot, ao.$ref);
      if ((ta === undefined) !== (tb === undefined)) return false;
      if (ta && tb) stack.push([ta.node, tb.node]);
    }
  }
  return true;
}

export function compareAssertions(emit: Emit, os: Schema, ns: Schema, path: string): void {
  compareType(emit, os.type, ns.type, path);
  compareValueSet(emit, os, ns, path);
  compareBound(emit, os, ns, path, "lower");
  compareBound(emit, os, ns, path, "upper");
  for (const kw of COUNT_KEYWORDS) compareCount(emit, kw, os[kw], ns[kw], path);
  compareMultipleOf(emit, os.multipleOf, ns.multipleOf, path);
  for (const kw of ["pattern", "format"]) compareAddedConstraint(emit, kw, os[kw], ns[kw], path, "string");
  // uniqueItems: false is the same as absent.
  const unique = (s: Schema): unknown => (s.uniqueItems === false ? undefined : s.uniqueItems);
  compareAddedConstraint(emit, "uniqueItems", unique(os), unique(ns), path, "boolean");
  compareRequired(emit, os.required, ns.required, path);
}

function typeSet(value: unknown): Set<string> | undefined | null {
  if (value === undefined) return undefined;
  const list: unknown[] | null = typeof value === "string" ? [value] : Array.isArray(value) ? value : null;
  return list && list.every((t) => typeof t === "string") ? new Set(list as string[]) : null;
}

/** True when every type in `inner` is accepted by `outer`; integer ⊂ number. */
function typesWithin(inner: Set<string>, outer: Set<string>): boolean {
  return [...inner].every((t) => outer.has(t) || (t === "integer" && outer.has("number")));
}

function compareType(emit: Emit, ov: unknown, nv: unknown, path: string): void {
  if (jsonEqual(ov, nv)) return;
  const at = segment(path, "type");
  const o = typeSet(ov);
  const n = typeSet(nv);
  if (o === null || n === null) return emit(at, "unclassified", cannot("type has an unexpected form"));
  if (!o) return emit(at, "narrowed", `type restricted to ${show(nv)}`);
  if (!n) return emit(at, "widened", `type ${show(ov)} removed`);
  const narrower = typesWithin(n, o);
  const wider = typesWithin(o, n);
  if (narrower && wider) return;
  const relation = narrower ? "narrowed" : wider ? "widened" : "changed";
  emit(at, relation, `type ${relation} from ${show(ov)} to ${show(nv)}`);
}

/** The values enum ∩ const allow; undefined = unrestricted, null = malformed. */
function allowedValues(s: Schema): unknown[] | undefined | null {
  if ("enum" in s && !Array.isArray(s.enum)) return null;
  const values = "enum" in s ? (s.enum as unknown[]) : undefined;
  if (!("const" in s)) return values;
  return values ? values.filter((v) => jsonEqual(v, s.const)) : [s.const];
}

function compareValueSet(emit: Emit, os: Schema, ns: Schema, path: string): void {
  if (jsonEqual(os.enum, ns.enum) && jsonEqual(os.const, ns.const) && "const" in os === "const" in ns) return;
  const kw = "enum" in os || "enum" in ns ? "enum" : "const";
  const at = segment(path, kw);
  const o = allowedValues(os);
  const n = allowedValues(ns);
  if (o === null || n === null) return emit(at, "unclassified", cannot("enum is not an array"));
  if (!o) return emit(at, "narrowed", `values restricted to ${show(n)}`);
  if (!n) return emit(at, "widened", `${kw} ${show(kw === "const" ? os.const : o)} removed; any value is allowed`);
  if (kw === "const" && o.length === 1 && n.length === 1) {
    return emit(at, "changed", `const changed from ${show(o[0])} to ${show(n[0])}`);
  }
  const before = new Map(o.map((v) => [canonicalJson(v), v]));
  const after = new Map(n.map((v) => [canonicalJson(v), v]));
  for (const [key, v] of after) if (!before.has(key)) emit(at, "widened", `${kw} value ${show(v)} added`);
  for (const [key, v] of before) if (!after.has(key)) emit(at, "narrowed", `${kw} value ${show(v)} removed`);
}

interface Bound {
  value: number;
  exclusive: boolean;
  kw: string;
}

function tighter(a: Bound, b: Bound, side: "lower" | "upper"): boolean {
  if (a.value !== b.value) return side === "lower" ? a.value > b.value : a.value < b.value;
  return a.exclusive && !b.exclusive;
}

/** The effective bound from the inclusive and exclusive keywords together; null = malformed. */
function bound(s: Schema, side: "lower" | "upper"): Bound | undefined | null {
  const pairs: Array<[string, boolean]> = side === "lower"
    ? [["minimum", false], ["exclusiveMinimum", true]] : [["maximum", false], ["exclusiveMaximum", true]];
  let best: Bound | undefined;
  for (const [kw, exclusive] of pairs) {
    if (!(kw in s)) continue;
    const value = s[kw];
    if (typeof value !== "number" || !Number.isFinite(value)) return null;
    const candidate = { value, exclusive, kw };
    if (!best || tighter(candidate, best, side)) best = candidate;
  }
  return best;
}

function compareBound(emit: Emit, os: Schema, ns: Schema, path: string, side: "lower" | "upper"): void {
  const o = bound(os, side);
  const n = bound(ns, side);
  const kws = side === "lower" ? ["minimum", "exclusiveMinimum"] : ["maximum", "exclusiveMaximum"];
  if (o === null || n === null) {
    if (!kws.every((k) => jsonEqual(os[k], ns[k]))) emit(segment(path, kws[0]!), "unclassified", cannot(`${side} bound has an unexpected value`));
    return;
  }
  if (!o && !n) return;
  const text = (b: Bound): string => `${side === "lower" ? ">" : "<"}${b.exclusive ? "" : "="} ${b.value}`;
  const at = segment(path, (n ?? o)!.kw);
  if (!o) return emit(at, "narrowed", `${side} bound ${text(n!)} added`);
  if (!n) return emit(at, "widened", `${side} bound ${text(o)} removed`);
  if (o.value === n.value && o.exclusive === n.exclusive) return;
  const narrower = tighter(n, o, side);
  emit(at, narrower ? "narrowed" : "widened", `${side} bound ${narrower ? "tightened" : "relaxed"} from ${text(o)} to ${text(n)}`);
}

function compareCount(emit: Emit, kw: string, ov: unknown, nv: unknown, path: string): void {
  if (ov === nv) return;
  const at = segment(path, kw);
  const valid = (v: unknown): boolean => v === undefined || (typeof v === "number" && Number.isInteger(v) && v >= 0);
  if (!valid(ov) || !valid(nv)) return emit(at, "unclassified", cannot(`${kw} has an unexpected value`));
  const isMin = kw.startsWith("min");
  const o = (ov as number | undefined) ?? (isMin ? 0 : Infinity);
  const n = (nv as number | undefined) ?? (isMin ? 0 : Infinity);
  if (o === n) return;
  const message = ov === undefined ? `${kw} ${n} added` : nv === undefined ? `${kw} ${o} removed`
    : `${kw} ${n > o ? "raised" : "lowered"} from ${o} to ${n}`;
  emit(at, (isMin ? n > o : n < o) ? "narrowed" : "widened", message);
}

function compareMultipleOf(emit: Emit, ov: unknown, nv: unknown, path: string): void {
  if (ov === nv) return;
  const at = segment(path, "multipleOf");
  const valid = (v: unknown): boolean => v === undefined || (typeof v === "number" && Number.isFinite(v) && v > 0);
  if (!valid(ov) || !valid(nv)) return emit(at, "unclassified", cannot("multipleOf has an unexpected value"));
  if (ov === undefined) return emit(at, "narrowed", `multipleOf ${nv} added`);
  if (nv === undefined) return emit(at, "widened", `multipleOf ${ov} removed`);
  // Every multiple of n is a multiple of o exactly when n is itself a multiple of o.
  const divides = (big: number, small: number): boolean => {
    const q = big / small;
    return Math.abs(q - Math.round(q)) < 1e-9 * Math.max(1, Math.abs(q));
  };
  const [o, n] = [ov as number, nv as number];
  emit(at, divides(n, o) ? "narrowed" : divides(o, n) ? "widened" : "changed", `multipleOf changed from ${o} to ${n}`);
}

/** pattern, format, uniqueItems: present = a constraint; a rewritten value is not compared. */
function compareAddedConstraint(emit: Emit, kw: string, ov: unknown, nv: unknown, path: string, type: string): void {
  if (ov === nv) return;
  const at = segment(path, kw);
  if (![ov, nv].every((v) => v === undefined || typeof v === type)) return emit(at, "unclassified", cannot(`${kw} has an unexpected value`));
  if (ov === undefined) emit(at, "narrowed", `${kw} ${show(nv)} added`);
  else if (nv === undefined) emit(at, "widened", `${kw} ${show(ov)} removed`);
  else emit(at, "changed", `${kw} changed from ${show(ov)} to ${show(nv)}`);
}

function compareRequired(emit: Emit, ov: unknown, nv: unknown, path: string): void {
  const at = segment(path, "required");
  const names = (v: unknown): string[] | null =>
    v === undefined ? [] : Array.isArray(v) && v.every((x) => typeof x === "string") ? (v as string[]) : null;
  const o = names(ov);
  const n = names(nv);
  if (o === null || n === null) {
    if (!jsonEqual(ov, nv)) emit(at, "unclassified", cannot("required is not an array of names"));
    return;
  }
  const before = new Set(o);
  const after = new Set(n);
  for (const name of [...after].sort(compareCodeUnits)) {
    if (!before.has(name)) emit(at, "narrowed", `property "${name}" is now required`);
  }
  for (const name of [...before].sort(compareCodeUnits)) {
    if (!after.has(name)) emit(at, "widened", `required property "${name}" removed or made optional`);
  }
}
