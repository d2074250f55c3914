import { isIP, isIPv4 } from "node:net";

/**
 * Which addresses a webhook may be delivered to: public unicast only, unless the operator sets
 * PINSET_WEBHOOK_ALLOW_PRIVATE=true. Otherwise a token that may create webhooks could make the
 * registry POST into its own network (the cloud metadata service at 169.254.169.254, a database
 * on 127.0.0.1, an internal admin page) and read the outcome back from the delivery log.
 *
 * Addresses reach this module already parsed: the WHATWG URL parser turns every IPv4 spelling
 * (`2130706433`, `0x7f.1`, `017700000001`) into dotted decimal, and DNS answers are addresses.
 * IPv6 addresses that embed an IPv4 one (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`,
 * NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the embedded address.
 */

/** [first octets as a 32-bit number, prefix length, what it is] */
const V4_RANGES: Array<[string, number, string]> = [
  ["0.0.0.0", 8, "unspecified (this network)"],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "shared (carrier-grade NAT)"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"],
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "reserved (IETF protocol assignments)"],
  ["192.0.2.0", 24, "reserved (documentation)"],
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "reserved (benchmarking)"],
  ["198.51.100.0", 24, "reserved (documentation)"],
  ["203.0.113.0", 24, "reserved (documentation)"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"],
];

function v4Number(address: string): number {
  return address.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}

function classifyV4(address: string): string | undefined {
  const n = v4Number(address);
  for (const [base, bits, what] of V4_RANGES) {
    const size = 2 ** (32 - bits);
    const start = v4Number(base);
    if (n >= start && n < start + size) return what;
  }
  return undefined;
}

/** The eight 16-bit groups of an IPv6 address (zone id dropped, a trailing dotted IPv4 folded in). */
function v6Groups(address: string): number[] {
  let text = address.replace(/%.*$/, "").toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const n = v4Number(dotted[1]!);
    text = `${text.slice(0, dotted.index)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const parse = (part: string | undefined) => (part ? part.split(":").map((g) => parseInt(g, 16)) : []);
  const front = parse(head);
  const back = parse(tail);
  return tail === undefined ? front : [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}

function embeddedV4(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
}

function classifyV6(address: string): string | undefined {
  const g = v6Groups(address);
  const zeroUntil = (i: number) => g.slice(0, i).every((x) => x === 0);
  if (zeroUntil(8)) return "unspecified";
  if (zeroUntil(7) && g[7] === 1) return "loopback";
  if (zeroUntil(5) && g[5] === 0xffff) return classifyV4(embeddedV4(g[6]!, g[7]!)) ?? undefined;
  if (zeroUntil(6)) return classifyV4(embeddedV4(g[6]!, g[7]!)) ?? "reserved (IPv4-compatible)";
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return classifyV4(embeddedV4(g[6]!, g[7]!));
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return "private (local-use NAT64)";
  if (g[0] === 0x2002) return classifyV4(embeddedV4(g[1]!, g[2]!));
  const first = g[0]!;
  if ((first & 0xfe00) === 0xfc00) return "unique-local";
  if ((first & 0xffc0) === 0xfe80) return "link-local";
  if ((first & 0xffc0) === 0xfec0) return "site-local";
  if ((first & 0xff00) === 0xff00) return "multicast";
  if (first === 0x100 && g.slice(1, 4).every((x) => x === 0)) return "reserved (discard-only)";
  if (first === 0x2001 && g[1] === 0xdb8) return "reserved (documentation)";
  return undefined;
}

/** What kind of non-public address `address` is (e.g. "loopback"), or undefined when it is public. */
export function nonPublicAddress(address: string): string | undefined {
  const family = isIP(address.replace(/%.*$/, ""));
  if (family === 4) return classifyV4(address);
  if (family === 6) return classifyV6(address);
  return "not an IP address";
}

/** The IP address a URL hostname spells literally (`127.0.0.1`, `[::1]` → `::1`), or undefined for a name. */
export function literalAddress(hostname: string): string | undefined {
  const bare = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  return isIP(bare) ? bare : undefined;
}

/** Names that mean this machine whatever DNS says (RFC 6761): `localhost` and `*.localhost`. */
export function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, "");
  return name === "localhost" || name.endsWith(".localhost");
}

/**
 * Why a webhook URL's host may not be delivered to without resolving it (a literal non-public
 * address, or localhost); undefined when it is a public literal or a name to check after DNS.
 */
export function literalHostProblem(hostname: string): string | undefined {
  if (isLocalhostName(hostname)) return "is localhost";
  const literal = literalAddress(hostname);
  if (!literal) return undefined;
  const what = nonPublicAddress(literal);
  return what ? `is ${isIPv4(literal) ? "" : "the IPv6 address "}${literal}, a ${what} address` : undefined;
}
