/** One line of the bench's table: a figure, the baseline measured beside it in the same run, and the verdict. */
export interface Row {
  measure: string;
  pinset: string;
  baseline: string;
  target: string;
  /** undefined: informational, no target. */
  pass?: boolean;
}

export function renderTable(rows: readonly Row[]): string {
  const head: Row = { measure: "measure", pinset: "pinset", baseline: "baseline (same run)", target: "target", pass: undefined };
  const cells = (r: Row, header = false) => [r.measure, r.pinset, r.baseline, r.target, header ? "result" : r.pass === undefined ? "" : r.pass ? "PASS" : "FAIL"];
  const all = [cells(head, true), ...rows.map((r) => cells(r))];
  const widths = all[0]!.map((_, i) => Math.max(...all.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(all[0]!), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...all.slice(1).map(line)].join("\n");
}
