/**
 * Seeded samplers for the gate bench: exact draws of the counts a window would produce, so the
 * simulation never has to generate request by request.
 *
 *   createRandom(seed)   xoshiro128** (32-bit state words, seeded through splitmix32); doubles
 *                        from 53 random bits
 *   normal               Marsaglia's polar method
 *   gamma(shape)         Marsaglia & Tsang (2000), shape < 1 by the Ahrens–Dieter boost
 *   chiSquare(k)         2 · gamma(k / 2)
 *   binomial(n, p)       exact inversion: from 0 while n·p < 30, otherwise a search that starts
 *                        at the mode and walks outwards (expected O(√(npq)) steps), the mode's
 *                        probability from log-gamma (Lanczos, ~1e-15 relative)
 *   multinomial(n, ps)   conditional binomials: kᵢ ~ Bin(n − Σkⱼ<ᵢ, pᵢ / (1 − Σpⱼ<ᵢ))
 * Exact up to floating point: the distributions are the true ones, not normal approximations.
 */

export interface Random {
  /** A double in [0, 1). */
  uniform(): number;
  normal(): number;
  gamma(shape: number): number;
  chiSquare(k: number): number;
  binomial(n: number, p: number): number;
  multinomial(n: number, probabilities: readonly number[]): number[];
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export function createRandom(seed: number): Random {
  const init = splitmix32(seed);
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
  const next32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  const uniform = () => ((next32() >>> 5) * 67108864 + (next32() >>> 6)) / 9007199254740992;

  let spare: number | undefined;
  const normal = (): number => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    for (;;) {
      const u = 2 * uniform() - 1;
      const v = 2 * uniform() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const m = Math.sqrt((-2 * Math.log(s)) / s);
        spare = v * m;
        return u * m;
      }
    }
  };

  const gamma = (shape: number): number => {
    if (shape < 1) return gamma(shape + 1) * Math.pow(uniform(), 1 / shape);
    const d3 = shape - 1 / 3;
    const c3 = 1 / Math.sqrt(9 * d3);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = normal();
        v = 1 + c3 * x;
      } while (v <= 0);
      v = v * v * v;
      const u = uniform();
      if (u < 1 - 0.0331 * x ** 4) return d3 * v;
      if (Math.log(u) < 0.5 * x * x + d3 * (1 - v + Math.log(v))) return d3 * v;
    }
  };

  const binomial = (n: number, p: number): number => {
    if (n <= 0 || p <= 0) return 0;
    if (p >= 1) return n;
    if (p > 0.5) return n - binomial(n, 1 - p);
    const q = 1 - p;
    const ratio = p / q;
    if (n * p < 30) {
      // P(0) = qⁿ ≥ e^(−30·1.4) here: no underflow.
      let f = Math.pow(q, n);
      let u = uniform();
      for (let k = 0; k <= n; k++) {
        if (u < f) return k;
        u -= f;
        f *= (ratio * (n - k)) / (k + 1);
      }
      return n;
    }
    const mode = Math.floor((n + 1) * p);
    const pmfMode = Math.exp(logGamma(n + 1) - logGamma(mode + 1) - logGamma(n - mode + 1) + mode * Math.log(p) + (n - mode) * Math.log(q));
    let u = uniform();
    // Walk outwards from the mode, taking the larger neighbour first: the accumulated mass
    // passes u after O(√(npq)) steps; any fixed order of visiting the outcomes is an exact inversion.
    let lo = mode;
    let hi = mode;
    let fLo = pmfMode;
    let fHi = pmfMode;
    if (u < pmfMode) return mode;
    u -= pmfMode;
    for (;;) {
      const nextHi = hi < n ? (fHi * ratio * (n - hi)) / (hi + 1) : 0;
      const nextLo = lo > 0 ? (fLo * lo) / (ratio * (n - lo + 1)) : 0;
      if (nextHi === 0 && nextLo === 0) return mode; // rounding left a sliver of mass: the mode
      if (nextHi >= nextLo) {
        hi++;
        fHi = nextHi;
        if (u < fHi) return hi;
        u -= fHi;
      } else {
        lo--;
        fLo = nextLo;
        if (u < fLo) return lo;
        u -= fLo;
      }
    }
  };

  const multinomial = (n: number, probabilities: readonly number[]): number[] => {
    const out: number[] = [];
    let left = n;
    let mass = 1;
    for (let i = 0; i < probabilities.length; i++) {
      const p = probabilities[i]!;
      if (i === probabilities.length - 1) {
        out.push(left);
        break;
      }
      const k = left > 0 && mass > 0 ? binomial(left, Math.min(1, p / mass)) : 0;
      out.push(k);
      left -= k;
      mass -= p;
    }
    return out;
  };

  return { uniform, normal, gamma, chiSquare: (k: number) => 2 * gamma(k / 2), binomial, multinomial };
}
