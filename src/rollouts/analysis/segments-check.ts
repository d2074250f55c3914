/**
 * Representative canary: the candidate must have served enough requests of every segment the
 * policy names (`required_segments`, e.g. {"attack": 50, "long_context": 50}) before the gate
 * can pass — the source chapter's trap of a canary of internal users only, after which long
 * real inputs blow up the GPU. Pure; counts are exact, so the reason is `point`.
 *
 * `seen`: the candidate's segment counts summed over the rollout's observations (pool.ts).
 * Until every minimum is reached the reason `segments` is `inconclusive` (counts as hold, so the
 * rollout cannot advance past its first step) and names what is missing; then `pass`.
 * No reason at all when the policy requires no segment.
 */
import type { Reason } from "../reason.js";
import { count } from "./format.js";

export function segmentsCheck(required: Readonly<Record<string, number>>, seen: Readonly<Record<string, number>>): Reason | undefined {
  const names = Object.keys(required).sort();
  if (names.length === 0) return undefined;
  const line = (name: string) => `${name} ${count(seen[name] ?? 0)} of ${count(required[name]!)}`;
  const missing = names.filter((name) => (seen[name] ?? 0) < required[name]!);
  const reached = names.filter((name) => !missing.includes(name));
  const verdict = missing.length > 0 ? "inconclusive" : "pass";
  const summary =
    missing.length > 0
      ? `the candidate's traffic is not representative yet: ${missing.map(line).join(", ")}${reached.length > 0 ? ` (reached: ${reached.map(line).join(", ")})` : ""}: inconclusive`
      : `the candidate served every required segment: ${names.map(line).join(", ")}: pass`;
  return {
    metric: "segments",
    baseline: null,
    candidate: null,
    threshold: names.map((name) => `${name} ≥ ${required[name]}`).join(", "),
    verdict,
    method: "point",
    interval: null,
    confidence: null,
    samples: null,
    needed: null,
    summary,
  };
}
