/**
 * Line-based unified diff: Myers' O(ND) algorithm in its linear-space ("middle snake") form,
 * driven by an explicit work stack so neither memory nor the call stack grows with the input.
 *
 * Output invariants (the same text GNU `diff -u` and `git diff` print, minus timestamps):
 * - identical inputs give "" — no headers, no hunks;
 * - otherwise `--- a/<fromLabel>` / `+++ b/<toLabel>`, then `@@ -l,s +l,s @@` hunks with
 *   `context` (default 3) unchanged lines around each change; changes separated by at most
 *   2 × context unchanged lines share one hunk (their contexts touch or overlap);
 * - as in GNU diff, `,s` is omitted when s is 1, and l is the line *before* the hunk when s is 0
 *   (so an empty side reads `-0,0`);
 * - a line is compared together with its terminator, so a last line without "\n" differs from
 *   the same text with one; such a line is followed by `\ No newline at end of file`;
 * - every line of the output, including the last, ends with "\n".
 */

export interface UnifiedDiffOptions {
  fromLabel?: string;
  toLabel?: string;
  /** Unchanged lines shown around each change; default 3. */
  context?: number;
}

const NO_NEWLINE = "\\ No newline at end of file\n";

/** Splits after each "\n"; the terminator stays on its line so "a" and "a\n" stay distinct. */
export function splitLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf("\n", start);
    if (nl === -1) {
      lines.push(text.slice(start));
      break;
    }
    lines.push(text.slice(start, nl + 1));
    start = nl + 1;
  }
  return lines;
}

export function unifiedDiff(oldText: string, newText: string, options: UnifiedDiffOptions = {}): string {
  if (oldText === newText) return "";
  const a = splitLines(oldText);
  const b = splitLines(newText);
  // Lines are interned to integers so the inner loops compare numbers, not strings.
  const ids = new Map<string, number>();
  const intern = (lines: string[]): Int32Array =>
    Int32Array.from(lines, (line) => {
      let id = ids.get(line);
      if (id === undefined) {
        id = ids.size;
        ids.set(line, id);
      }
      return id;
    });
  const { deleted, inserted } = diffSequences(intern(a), intern(b));
  const body = formatHunks(a, b, deleted, inserted, Math.max(0, options.context ?? 3));
  return `--- a/${options.fromLabel ?? "a"}\n+++ b/${options.toLabel ?? "b"}\n${body}`;
}

/**
 * Like markChanges, but first sets aside lines that occur on one side only: no edit script can
 * match them, so the shortest script is unchanged, and wholly rewritten texts cost O(N) instead
 * of Myers' O(N²) worst case.
 */
export function diffSequences(a: Int32Array, b: Int32Array): { deleted: Uint8Array; inserted: Uint8Array } {
  const inA = new Set(a);
  const inB = new Set(b);
  const keptA = a.filter((id) => inB.has(id));
  const keptB = b.filter((id) => inA.has(id));
  const inner = markChanges(keptA, keptB);
  const spread = (seq: Int32Array, other: Set<number>, flags: Uint8Array): Uint8Array => {
    const out = new Uint8Array(seq.length);
    for (let i = 0, kept = 0; i < seq.length; i++) out[i] = other.has(seq[i]!) ? flags[kept++]! : 1;
    return out;
  };
  return { deleted: spread(a, inB, inner.deleted), inserted: spread(b, inA, inner.inserted) };
}

/**
 * Flags every line of `a` that is deleted and every line of `b` that is inserted by a shortest
 * edit script. Invariant: the unflagged lines of `a` and of `b` are equal, pairwise, in order.
 */
export function markChanges(a: Int32Array, b: Int32Array): { deleted: Uint8Array; inserted: Uint8Array } {
  const deleted = new Uint8Array(a.length);
  const inserted = new Uint8Array(b.length);
  const offset = a.length + b.length + 1;
  const forward = new Int32Array(2 * offset + 1);
  const backward = new Int32Array(2 * offset + 1);
  // Boxes [aLo, aHi) × [bLo, bHi) still to solve, four numbers each.
  const work: number[] = [0, a.length, 0, b.length];
  while (work.length > 0) {
    let bHi = work.pop()!;
    let bLo = work.pop()!;
    let aHi = work.pop()!;
    let aLo = work.pop()!;
    while (aLo < aHi && bLo < bHi && a[aLo] === b[bLo]) {
      aLo++;
      bLo++;
    }
    while (aLo < aHi && bLo < bHi && a[aHi - 1] === b[bHi - 1]) {
      aHi--;
      bHi--;
    }
    if (aLo === aHi) {
      inserted.fill(1, bLo, bHi);
      continue;
    }
    if (bLo === bHi) {
      deleted.fill(1, aLo, aHi);
      continue;
    }
    const split = middleSnake(a, aLo, aHi, b, bLo, bHi, forward, backward, offset);
    const [x, y] = split;
    // Both halves must be strictly smaller than the box, or the loop would never end; the
    // trimming above makes a corner split impossible, and this keeps it so if that ever breaks.
    const corner = (x === aLo && y === bLo) || (x === aHi && y === bHi);
    if (corner || x < aLo || x > aHi || y < bLo || y > bHi) {
      deleted.fill(1, aLo, aHi);
      inserted.fill(1, bLo, bHi);
      continue;
    }
    work.push(aLo, x, bLo, y, x, aHi, y, bHi);
  }
  return { deleted, inserted };
}

/**
 * Finds a point on an optimal edit path through the box by running the forward and reverse
 * searches in lock step until they overlap (Myers 1986, section 4b). Diagonal k is x − y in the
 * box's own coordinates; the reverse search runs on the reversed sequences, where its diagonal
 * kr is the forward diagonal delta − k. Arrays are indexed by diagonal + offset.
 */
function middleSnake(
  a: Int32Array, aLo: number, aHi: number,
  b: Int32Array, bLo: number, bHi: number,
  forward: Int32Array, backward: Int32Array, offset: number,
): [number, number] {
  const n = aHi - aLo;
  const m = bHi - bLo;
  const delta = n - m;
  const odd = (delta & 1) !== 0;
  forward[offset + 1] = 0;
  backward[offset + 1] = 0;
  const dMax = Math.ceil((n + m) / 2);
  for (let d = 0; d <= dMax; d++) {
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && forward[offset + k - 1]! < forward[offset + k + 1]!);
      let x = down ? forward[offset + k + 1]! : forward[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[aLo + x] === b[bLo + y]) {
        x++;
        y++;
      }
      forward[offset + k] = x;
      const kr = delta - k;
      if (odd && kr >= 1 - d && kr <= d - 1 && x <= n && y <= m && x + backward[offset + kr]! >= n) {
        return [aLo + x, bLo + y];
      }
    }
    for (let kr = -d; kr <= d; kr += 2) {
      const down = kr === -d || (kr !== d && backward[offset + kr - 1]! < backward[offset + kr + 1]!);
      let x = down ? backward[offset + kr + 1]! : backward[offset + kr - 1]! + 1;
      let y = x - kr;
      while (x < n && y < m && a[aHi - 1 - x] === b[bHi - 1 - y]) {
        x++;
        y++;
      }
      backward[offset + kr] = x;
      const k = delta - kr;
      if (!odd && k >= -d && k <= d && x <= n && y <= m && forward[offset + k]! + x >= n) {
        return [aHi - x, bHi - y];
      }
    }
  }
  // Not reached for a box whose ends differ; the caller treats a corner as "replace all".
  return [aLo, bLo];
}

const EQUAL = 0;
const DELETE = 1;
const INSERT = 2;

function formatHunks(a: string[], b: string[], deleted: Uint8Array, inserted: Uint8Array, context: number): string {
  // One op per output line; oldAt/newAt hold the line indices *before* the op.
  const kinds: number[] = [];
  const oldAt: number[] = [];
  const newAt: number[] = [];
  for (let i = 0, j = 0; i < a.length || j < b.length; ) {
    oldAt.push(i);
    newAt.push(j);
    if (i < a.length && deleted[i]) {
      kinds.push(DELETE);
      i++;
    } else if (j < b.length && inserted[j]) {
      kinds.push(INSERT);
      j++;
    } else {
      kinds.push(EQUAL);
      i++;
      j++;
    }
  }
  const out: string[] = [];
  let op = 0;
  while (op < kinds.length) {
    while (op < kinds.length && kinds[op] === EQUAL) op++;
    if (op === kinds.length) break;
    const start = Math.max(0, op - context);
    // Extend through every change whose gap of unchanged lines is at most 2 × context.
    let lastChange = op;
    let scan = op + 1;
    while (scan < kinds.length && scan - lastChange - 1 <= 2 * context) {
      if (kinds[scan] !== EQUAL) lastChange = scan;
      scan++;
    }
    const end = Math.min(kinds.length, lastChange + 1 + context);
    let oldCount = 0;
    let newCount = 0;
    for (let o = start; o < end; o++) {
      if (kinds[o] !== INSERT) oldCount++;
      if (kinds[o] !== DELETE) newCount++;
    }
    const oldStart = oldAt[start]! + (oldCount > 0 ? 1 : 0);
    const newStart = newAt[start]! + (newCount > 0 ? 1 : 0);
    out.push(`@@ -${range(oldStart, oldCount)} +${range(newStart, newCount)} @@\n`);
    for (let o = start; o < end; o++) {
      const kind = kinds[o];
      const line = kind === INSERT ? b[newAt[o]!]! : a[oldAt[o]!]!;
      out.push(kind === EQUAL ? " " : kind === DELETE ? "-" : "+");
      out.push(line.endsWith("\n") ? line : `${line}\n${NO_NEWLINE}`);
    }
    op = end;
  }
  return out.join("");
}

function range(start: number, count: number): string {
  return count === 1 ? `${start}` : `${start},${count}`;
}
