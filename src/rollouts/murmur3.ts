/**
 * MurmurHash3, x86 32-bit variant (Austin Appleby's MurmurHash3_x86_32), in plain ECMAScript so
 * the server and the SDK (which may run outside Node) compute identical canary buckets.
 *
 * All arithmetic is on unsigned 32-bit words: `Math.imul` gives the low 32 bits of a product,
 * `>>> 0` reinterprets a signed result as unsigned. Blocks are read little-endian, whatever the
 * platform's byte order. Published vectors live in test/fixtures/assignment-vectors.json.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function rotl32(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function mixK(k: number): number {
  k = Math.imul(k, C1);
  k = rotl32(k, 15);
  return Math.imul(k, C2);
}

/** Returns the hash as an unsigned 32-bit integer (0 … 2^32 − 1). */
export function murmur3_x86_32(bytes: Uint8Array, seed = 0): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`seed must be an unsigned 32-bit integer, got ${seed}`);
  }
  const length = bytes.length;
  const blockEnd = length - (length & 3);
  let h = seed | 0;

  for (let i = 0; i < blockEnd; i += 4) {
    const k =
      bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    h ^= mixK(k);
    h = rotl32(h, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }

  // The 1–3 trailing bytes, little-endian, mixed without the h rotation of a full block.
  let k = 0;
  switch (length & 3) {
    case 3:
      k ^= bytes[blockEnd + 2]! << 16;
    // falls through
    case 2:
      k ^= bytes[blockEnd + 1]! << 8;
    // falls through
    case 1:
      k ^= bytes[blockEnd]!;
      h ^= mixK(k);
  }

  // The reference implementation mixes in the length as a 32-bit int.
  h ^= length | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
