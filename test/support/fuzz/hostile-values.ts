/** Hostile building blocks: strings, path segments and JSON values, shared by the request and body arbitraries. */
import fc from "fast-check";

export interface FuzzContext {
  /** Valid values per route parameter name (`project`, `digest`, …), so requests reach handlers. */
  samples: Record<string, string[]>;
  /** Bearer tokens to pick from (admin first); `null` sends none. */
  tokens: Array<string | null>;
  /** A local server that must never be contacted: remote `$ref`s point at it. */
  refServer: string;
  /** The largest JSON body the app accepts. */
  maxJsonBytes: number;
}

const HOSTILE_TEXT = [
  "",
  " ",
  "\t",
  "..",
  "../",
  "../../etc/passwd",
  "..\\..\\windows\\win.ini",
  "a/../b",
  "/etc/passwd",
  "....//",
  "__proto__",
  "constructor",
  "prototype",
  "hasOwnProperty",
  "toString",
  "' OR '1'='1",
  "'; DROP TABLE projects; --",
  '" OR 1=1 --',
  "1; select pg_sleep(5)",
  "%' --",
  "\\",
  "$1",
  "E'\\x00'",
  "\u0000",
  "a\u0000b",
  "\r\n",
  "a\r\nx-injected: 1",
  "\u202e",
  "\ud800",
  "\udfff",
  "😀",
  "\uffff",
  "İ",
  "ａｂｃ",
  "%s%s%s%n",
  "${jndi:ldap://127.0.0.1/x}",
  "{{7*7}}",
  "<script>alert(1)</script>",
  "-1",
  "0",
  "1e309",
  "NaN",
  "Infinity",
  "9007199254740993",
  "0x10",
  "1.5",
  " 1",
  "latest",
  "*",
  "sha256:../../../etc/passwd",
  `sha256:${"0".repeat(63)}G`,
  `sha256:${"A".repeat(64)}`,
  `sha256:${"0".repeat(65)}`,
  `sha512:${"0".repeat(128)}`,
  "vs_000000000000000000000000",
  "vs_../../x",
  "tok_bootstrap_admin",
  "a".repeat(129),
  "b".repeat(5_000),
];

/** Already percent-encoded segments, sent verbatim: encoded traversal and slashes, bad escapes. */
export const RAW_SEGMENTS = [
  "..%2F",
  "..%2f..%2fetc%2fpasswd",
  "%2e%2e%2f",
  "%2e%2e",
  ".%2e",
  "%252e%252e%252f",
  "%c0%ae%c0%ae%2f",
  "%2F",
  "a%2Fb",
  "%5C",
  "%00",
  "a%00b",
  "%0d%0ax-injected:%201",
  "%",
  "%zz",
  "%e0%80",
  "%ff%fe",
  "sha256%3A..%2F..%2Fx",
  "..",
  ".",
  "~",
];

/**
 * Text that would act on a terminal instead of showing itself: escape sequences (retitle,
 * erase, move the cursor), C0/C1 controls, bidi overrides/isolates/marks, zero-width characters.
 */
export const TERMINAL_TEXT = [
  "\u001b]0;owned\u0007\u001b[2K\u001b[1A",
  "\u001b[31mred\u001b[0m",
  "\u001b[8mhidden",
  "a\u0007b",
  "a\u0008b",
  "a\rb",
  "a\u007fb",
  "a\u009b2Kb",
  "a\u0085b",
  "evil\u202etxt.exe",
  "\u202a\u202b\u202c\u202d",
  "\u2066\u2067\u2068\u2069",
  "\u200e\u200f",
  "zero\u200bwidth",
  "a\u200c\u200db",
  "a\u2060b",
  "\ufeffbom",
  "a\u2028b\u2029c",
];

/** Mostly ordinary characters with terminal-unsafe ones mixed in. */
export const terminalText = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...TERMINAL_TEXT) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom("a", "b", "/", ".", "-"), fc.constantFrom(...[..."\u001b\u0007\u009b\u202e\u2066\u200b\u200d\ufeff\u0085\u2028"])), { minLength: 1, maxLength: 12 })
      .map((chars) => chars.join("")),
  },
);

export const hostileText = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_TEXT) },
  { weight: 1, arbitrary: terminalText },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
);

/** Percent-encodes the UTF-8 bytes of `s` (lone surrogates become U+FFFD; encodeURIComponent throws). */
export const pct = (s: string) =>
  [...Buffer.from(s, "utf8")].map((b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`)).join("");

/** A header value node's HTTP client accepts (tab, printable ASCII and latin1 bytes). */
export const headerSafe = (s: string) => s.replace(/[^\t\x20-\x7e\x80-\xff]/g, "");
export type NestingKey = "properties" | "items" | "allOf";

/**
 * `depth` levels of nested subschemas as JSON text, built without recursion: JSON.stringify
 * itself overflows the stack on such an object.
 */
export function deepSchemaJson(depth: number, key: NestingKey): string {
  const [open, close] =
    key === "properties" ? ['{"type":"object","properties":{"a":', "}}"] : key === "items" ? ['{"type":"array","items":', "}"] : ['{"allOf":[', "]}"];
  return `${open.repeat(depth)}{"type":"string"}${close.repeat(depth)}`;
}

/**
 * Schemas over each schema limit (default limits) yet small enough for the fuzz body limit, as
 * JSON text: too many properties (in one object, and spread over levels), too many
 * allOf/anyOf/oneOf entries, nesting one level too deep.
 */
export function oversizedSchemaJson(): string[] {
  const props = (n: number, prefix = "p") => Array.from({ length: n }, (_, i) => `"${prefix}${i}":{}`).join(",");
  const branches = (kw: string, n: number) => `{"${kw}":[${Array.from({ length: n }, () => "{}").join(",")}]}`;
  return [
    `{"type":"object","properties":{${props(5_001)}}}`,
    `{"properties":{"a":{"properties":{${props(2_600)}}},"b":{"patternProperties":{${props(2_600, "^x")}}}}}`,
    branches("allOf", 1_001),
    branches("anyOf", 1_500),
    `{"oneOf":[${Array.from({ length: 600 }, () => "{}").join(",")}],"items":${branches("anyOf", 600)}}`,
    `${'{"items":'.repeat(65)}{}${"}".repeat(65)}`,
  ];
}

export function remoteSchemas(ref: string): unknown[] {
  return [
    { $ref: `${ref}/schema.json` },
    { $id: `${ref}/root.json`, $ref: "other.json" },
    { $schema: `${ref}/meta-schema` },
    { type: "object", properties: { a: { $ref: `${ref}/a.json#/definitions/b` } } },
    { $dynamicRef: `${ref}/dynamic.json#meta` },
    { $id: `${ref}/x`, $defs: { a: { $id: "y", $ref: `${ref}/z.json` } }, $ref: "#/$defs/a" },
    { allOf: [{ $ref: `${ref}/s.json` }], $anchor: "a" },
  ];
}

/** A JSON value with hostile keys and strings at any depth. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(-0, 1e308, 2 ** 53 + 1, -1)),
    hostileText,
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom("__proto__", "constructor", "prototype", "$ref", "$id", "polluted"), hostileText), tie("value"), { maxKeys: 3 }),
  ),
})).value;

