import { VERSION_SET_ID_PATTERN } from "./identity.js";

/**
 * A diff's query when it is exactly `from=<set id>&to=<set id>` (either order): read as the
 * router's query parser (node:querystring) would read it, for the fast lane. Anything else — a
 * parameter more or repeated, an encoded character, an id that is not one — is undefined, and
 * the route's handlers decide it. A set id has nothing to decode, so no decoding is needed.
 */
export function diffPairOnly(query: string): { from: string; to: string } | undefined {
  const amp = query.indexOf("&");
  if (amp === -1) return undefined;
  const first = query.slice(0, amp);
  const second = query.slice(amp + 1);
  let from: string | undefined;
  let to: string | undefined;
  for (const part of [first, second]) {
    if (part.startsWith("from=") && from === undefined) from = part.slice("from=".length);
    else if (part.startsWith("to=") && to === undefined) to = part.slice("to=".length);
    else return undefined;
  }
  return from !== undefined && to !== undefined && VERSION_SET_ID_PATTERN.test(from) && VERSION_SET_ID_PATTERN.test(to) ? { from, to } : undefined;
}
