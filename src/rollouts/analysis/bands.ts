/**
 * The source chapter's bands mapped onto an interval. Pure.
 *
 * Every line is put on a "harm" scale where larger is worse: for a quality rate the harm is the
 * drop (baseline − candidate, lines pass_drop ≤ hold_drop ≤ pause_drop); for p95 and tokens it
 * is the ratio candidate / baseline (lines pass_ratio ≤ hold_ratio ≤ pause_ratio). With the
 * interval [lo, hi] on that scale:
 *
 *     harm →   better ........ pass line ........ hold line ........ roll-back line ........ worse
 *     pass          [===========================]                       whole interval inside the hold line
 *     hold                      [=============]                         wholly beyond pass, inside hold
 *     inconclusive                        [=========]                   straddles the hold line
 *     pause                                          [=========]        wholly beyond the hold line
 *     rollback                                                  [====]  wholly beyond the roll-back line
 *
 * A verdict worse than pass needs the whole interval beyond its band's line; pass needs the whole
 * interval inside the hold line; an interval wholly between the pass and hold lines is a proven
 * small harm, `hold`, as the point gate's hold band; an interval across the hold line is
 * `inconclusive` (counts as hold) until more samples settle it. Inconclusive is therefore the
 * only verdict that more data can change for a true effect away from the hold line, and
 * `needed` says roughly how much more.
 *
 * Boundaries are inclusive as the table states them (the point gate's convention, with the same
 * relative 1e-9 tolerance): a harm exactly on a line is inside it.
 */
import { growthFactor, type SequenceOptions } from "./confidence-sequence.js";

export type BandVerdict = "pass" | "hold" | "pause" | "rollback" | "inconclusive";

export interface Lines {
  pass: number;
  hold: number;
  pause: number;
}

const within = (value: number, bound: number): boolean => value <= bound + 1e-9 * Math.max(1, Math.abs(bound));

export function bandVerdict(lo: number, hi: number, lines: Lines): BandVerdict {
  if (!within(lo, lines.pause)) return "rollback";
  if (!within(lo, lines.hold)) return "pause";
  if (within(hi, lines.hold)) return within(lo, lines.pass) ? "pass" : "hold";
  return "inconclusive";
}

export interface LineWords {
  /** A line as the summary prints it: "−3 pt", "× 1.15". */
  show(line: number): string;
  /** The line as the threshold states it in the interval's unit: "−0.03", "1.15". */
  value(line: number): string;
  /** Where harm lies: "below" for rates (a drop), "above" for ratios. */
  worse: "below" | "above";
}

/** The words after the interval in a summary, before ": <verdict>". */
export function bandPhrase(verdict: BandVerdict, lines: Lines, w: LineWords): string {
  switch (verdict) {
    case "pass":
      return `inside the hold line (${w.show(lines.hold)})`;
    case "hold":
      return `wholly ${w.worse} the pass line (${w.show(lines.pass)}) yet inside the hold line (${w.show(lines.hold)})`;
    case "pause":
      return `wholly ${w.worse} the hold line (${w.show(lines.hold)}), not wholly ${w.worse} the roll-back line (${w.show(lines.pause)})`;
    case "rollback":
      return `wholly ${w.worse} the roll-back line (${w.show(lines.pause)})`;
    case "inconclusive":
      return `straddles the hold line (${w.show(lines.hold)})`;
  }
}

/** The condition the interval met, in the interval's own unit (the reason's `threshold`). */
export function bandThreshold(verdict: BandVerdict, lines: Lines, w: LineWords): string {
  const [inside, beyond] = w.worse === "below" ? ["≥", "<"] : ["≤", ">"];
  switch (verdict) {
    case "pass":
      return `whole interval ${inside} ${w.value(lines.hold)} (hold line)`;
    case "hold":
      return `whole interval ${beyond} ${w.value(lines.pass)} (pass line) and ${inside} ${w.value(lines.hold)} (hold line)`;
    case "pause":
      return `whole interval ${beyond} ${w.value(lines.hold)} (hold line)`;
    case "rollback":
      return `whole interval ${beyond} ${w.value(lines.pause)} (roll-back line)`;
    case "inconclusive":
      return `interval across ${w.value(lines.hold)} (hold line)`;
  }
}

export interface Needed {
  baseline: number;
  candidate: number;
}

/**
 * Roughly how many more trials per side would settle an interval across `line`: the growth at
 * which the half-width on the line's side (at the current per-unit variance, both sides growing
 * in proportion) falls below the distance from the estimate to the line. All three on the scale
 * the interval was built on (a difference, or a log ratio). null when it never would (the
 * estimate sits on the line) or the interval is unbounded.
 */
export function neededTrials(input: {
  estimate: number;
  lo: number;
  hi: number;
  line: number;
  n: number;
  sizes: Needed;
  sequence: SequenceOptions;
}): Needed | null {
  const { estimate, lo, hi, line } = input;
  if (![estimate, lo, hi].every(Number.isFinite)) return null;
  const halfWidth = line >= estimate ? hi - estimate : estimate - lo;
  const f = growthFactor({ halfWidth, distance: Math.abs(line - estimate), n: input.n, ...input.sequence });
  if (f === undefined) return null;
  const more = (n: number) => Math.max(1, Math.ceil(n * (f - 1)));
  return { baseline: more(input.sizes.baseline), candidate: more(input.sizes.candidate) };
}
