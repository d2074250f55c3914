/**
 * The normal-mixture confidence sequence (mixture SPRT): intervals that stay valid however often
 * they are looked at. Pure arithmetic.
 *
 * For an estimate θ̂ with variance v, mixing the likelihood ratio over a N(0, τ²) prior on the
 * effect gives (Robbins 1970; Johari, Koomen, Pekelis & Walsh, "Always Valid Inference",
 * Operations Research 2022)
 *
 *     Λ = √(v / (v + τ²)) · exp( τ² θ̂² / (2 v (v + τ²)) )
 *
 * and Ville's inequality bounds P(Λ ever ≥ 1/α) by α. Inverting Λ < 1/α gives the always-valid
 * two-sided interval
 *
 *     θ̂ ± √( v (v + τ²) / τ² · ( ln((v + τ²) / v) + 2 ln(1/α) ) )
 *
 * with v estimated from the data: the asymptotic confidence sequence of Waudby-Smith, Arbour,
 * Sinha, Kennedy & Ramdas, "Time-uniform central limit theory and asymptotic confidence
 * sequences" (2023), the method GrowthBook's sequential testing implements.
 *
 * Writing x = τ² / v, the radius is √(v · G(x)) with G(x) = (1 + 1/x)(ln(1 + x) + 2 ln(1/α)).
 * G is smallest where x = ln(1 + x) + 2 ln(1/α) (set G′ = 0); call that x*(α) (8.21 at α = 0.05).
 * τ² is tuned once per sequence so that x = x* when the effective sample size n reaches the
 * planned size n* (the step's min_samples): with per-unit variance σ² = v·n,
 *
 *     τ² = x* · σ² / n*,   so at any n   x = τ² / v = x* · n / n*.
 *
 * GrowthBook writes the same thing as ρ² = x / n with the closed-form approximation
 * x* ≈ 2 ln(1/α) + ln(1 + 2 ln(1/α)) (7.94 at α = 0.05) and n = both groups' total; here x* is
 * solved exactly and n is the effective size of a two-sample comparison, 1 / (1/n_b + 1/n_c),
 * which is the candidate's count when (as in a canary) the baseline is far larger. At the
 * optimum G = x* + 1, so the radius there is √(v (x* + 1)) — 3.04 √v at α = 0.05, against 1.96 √v
 * for a fixed-sample interval looked at once. It is flat near the optimum: at α = 0.05, 10× more
 * samples than planned widen it by 7 %, 80× more by 16 %, 10× fewer by 26 %.
 */

/** x*(α): the τ²/v at which the radius is smallest, by fixed-point iteration (a contraction). */
export function optimalMixing(alpha: number): number {
  const twoL = 2 * Math.log(1 / alpha);
  let x = twoL + Math.log(1 + twoL);
  for (let i = 0; i < 100; i++) {
    const next = Math.log(1 + x) + twoL;
    if (Math.abs(next - x) < 1e-13 * x) return next;
    x = next;
  }
  return x;
}

const mixingCache = new Map<number, number>();
function mixingFor(alpha: number): number {
  let x = mixingCache.get(alpha);
  if (x === undefined) {
    x = optimalMixing(alpha);
    mixingCache.set(alpha, x);
  }
  return x;
}

/** G(x) = (1 + 1/x)(ln(1 + x) + 2 ln(1/α)): radius² / v. */
export function radiusFactor(x: number, alpha: number): number {
  return (1 + 1 / x) * (Math.log1p(x) + 2 * Math.log(1 / alpha));
}

export interface SequenceOptions {
  alpha: number;
  /** n*: the effective sample size at which the radius is smallest (≥ 1). */
  planned: number;
  /** Overrides x*(α), e.g. with GrowthBook's approximation in a test. */
  mixing?: number;
}

/** x = τ² / v at effective sample size n. */
export function mixingRatio(n: number, o: SequenceOptions): number {
  return ((o.mixing ?? mixingFor(o.alpha)) * n) / Math.max(1, o.planned);
}

/**
 * The always-valid radius for an estimate of variance v at effective sample size n: θ̂ ± radius.
 * Infinite with no samples; 0 when the variance is 0 (every value alike).
 */
export function radius(v: number, n: number, o: SequenceOptions): number {
  if (!(n > 0) || !Number.isFinite(v)) return Number.POSITIVE_INFINITY;
  if (v <= 0) return 0;
  return Math.sqrt(v * radiusFactor(mixingRatio(n, o), o.alpha));
}

/** The effective size of a two-sample comparison: 1 / (1/n_b + 1/n_c). */
export function effectiveSize(nb: number, nc: number): number {
  return nb > 0 && nc > 0 ? (nb * nc) / (nb + nc) : 0;
}

/**
 * The always-valid p-value for z = θ̂ / √v at effective size n: 1/Λ, capped at 1. (The running
 * minimum over time is the sequence's p-value; the caller takes it when it checks repeatedly.)
 */
export function alwaysValidP(z: number, n: number, o: SequenceOptions): number {
  const x = mixingRatio(n, o);
  if (!(x > 0)) return 1;
  const logLambda = (x * z * z) / (2 * (1 + x)) - 0.5 * Math.log1p(x);
  return Math.min(1, Math.exp(-logLambda));
}

/**
 * How much every side's sample count must grow (a factor f ≥ 1, both sides in proportion, the
 * per-unit variance unchanged) before a half-width of `halfWidth` now falls below `distance`:
 * the radius scales by √(G(x·f) / (f · G(x))). undefined when it never would (distance 0) or
 * only beyond a 10¹²-fold growth.
 */
export function growthFactor(input: { halfWidth: number; distance: number; n: number } & SequenceOptions): number | undefined {
  const { halfWidth, distance, n } = input;
  if (!(distance > 0) || !Number.isFinite(halfWidth) || !(n > 0)) return undefined;
  if (halfWidth < distance) return 1;
  const x = mixingRatio(n, input);
  const g = radiusFactor(x, input.alpha);
  const shrink = (f: number) => halfWidth * Math.sqrt(radiusFactor(x * f, input.alpha) / (f * g));
  let lo = 0;
  let hi = Math.log(1e12);
  if (shrink(Math.exp(hi)) >= distance) return undefined;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (shrink(Math.exp(mid)) < distance) hi = mid;
    else lo = mid;
  }
  return Math.exp(hi);
}
