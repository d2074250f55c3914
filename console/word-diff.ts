/**
 * Word-level diff for the side-by-side prompt view: Myers' O((N+M)·D) algorithm over tokens
 * (words, runs of spaces, punctuation), so two 50 KB prompts with a few edits diff in
 * milliseconds. Past `maxEdits` edits (texts that share little) it gives up on alignment and
 * marks everything removed and added, which is also the honest picture.
 */
export type Part = { op: "same" | "del" | "ins"; text: string };

export function tokens(text: string): string[] {
  return text.match(/\s+|[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu) ?? [];
}

export function diffTokens(a: string[], b: string[], maxEdits = 4000): Part[] {
  // Trim the common prefix and suffix: most prompt edits are local.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) endA--, endB--;
  const head: Part[] = start > 0 ? [{ op: "same", text: a.slice(0, start).join("") }] : [];
  const tail: Part[] = endA < a.length ? [{ op: "same", text: a.slice(endA).join("") }] : [];
  const mid = myers(a.slice(start, endA), b.slice(start, endB), maxEdits);
  return merge([...head, ...mid, ...tail]);
}

export function diffWords(a: string, b: string): Part[] {
  return diffTokens(tokens(a), tokens(b));
}

function myers(a: string[], b: string[], maxEdits: number): Part[] {
  const n = a.length;
  const m = b.length;
  if (n === 0 && m === 0) return [];
  if (n === 0) return [{ op: "ins", text: b.join("") }];
  if (m === 0) return [{ op: "del", text: a.join("") }];
  const max = Math.min(n + m, maxEdits);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) x++, y++;
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(trace, a, b, offset, d);
    }
  }
  return [
    { op: "del", text: a.join("") },
    { op: "ins", text: b.join("") },
  ];
}

function backtrack(trace: Int32Array[], a: string[], b: string[], offset: number, dEnd: number): Part[] {
  const out: Part[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = dEnd; d > 0; d--) {
    const v = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? k + 1 : k - 1;
    const prevX = v[offset + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) out.push({ op: "same", text: a[--x]! }), y--;
    if (x === prevX) out.push({ op: "ins", text: b[--y]! });
    else out.push({ op: "del", text: a[--x]! });
  }
  while (x > 0 && y > 0) out.push({ op: "same", text: a[--x]! }), y--;
  return out.reverse();
}

function merge(parts: Part[]): Part[] {
  const out: Part[] = [];
  for (const p of parts) {
    if (!p.text) continue;
    const last = out[out.length - 1];
    if (last && last.op === p.op) last.text += p.text;
    else out.push({ ...p });
  }
  return out;
}
