/** Edit distance (insertions, deletions, substitutions), for "did you mean". */
export function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/**
 * The candidate a mistyped word most likely meant. A word that starts one candidate is taken as
 * an abbreviation first (`stat` → `status`, although `start` is one edit away); otherwise the
 * nearest candidate within two edits (ties: the one listed first). Undefined: nothing close.
 */
export function closest(typed: string, candidates: readonly string[]): string | undefined {
  if (typed.length >= 2) {
    const prefixed = candidates.filter((c) => c.startsWith(typed) && c !== typed);
    if (prefixed.length === 1) return prefixed[0];
  }
  let best: { name: string; d: number } | undefined;
  for (const name of candidates) {
    const d = distance(typed, name);
    if (d <= 2 && d < typed.length && (!best || d < best.d)) best = { name, d };
  }
  return best?.name;
}
