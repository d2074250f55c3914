import { unwrap } from "../../client/client.js";
import type { CommandSpec } from "../command.js";
import { formatBytes, table } from "../render/format.js";

export const gc: CommandSpec = {
  name: "gc",
  summary: "Collect garbage: retire index versions nothing keeps and delete unreferenced blob bytes; needs an admin token",
  args: [],
  options: {
    "dry-run": { type: "boolean", description: "Report what would be retired and freed, change nothing" },
    "project-only": { type: "boolean", description: "Only the project of --project / PINSET_PROJECT (shared bytes another project needs stay)" },
  },
  examples: ["pinset gc --dry-run", "pinset gc", "pinset gc --project-only --project support-bot --json"],
  async run(ctx, { values }) {
    const dryRun = values["dry-run"] === true;
    const project = values["project-only"] === true ? ctx.project : undefined;
    const run = await unwrap(ctx.client.POST("/v1/admin/gc", { body: { dry_run: dryRun, ...(project !== undefined ? { project } : {}) } }));
    ctx.output(run, (r) => {
      const report = r.report;
      if (!report) return `Run ${r.id}: ${r.state}`;
      const verb = report.dry_run ? "would retire" : "retired";
      const freed = report.dry_run ? "would free" : "freed";
      const lines = [
        `${report.dry_run ? "Dry run" : "Run"} ${r.id}: ${verb} ${report.total.retired_versions} index version(s), ${freed} ${report.total.blobs} blob(s), ${formatBytes(report.total.bytes)}`,
      ];
      if (report.projects.length > 0) {
        lines.push(...table(["PROJECT", "RETIRED", "BLOBS", "BYTES"], report.projects.map((p) => [p.project, String(p.retired_versions), String(p.blobs), formatBytes(p.bytes)])));
      }
      if (!report.dry_run) lines.push(`Webhook housekeeping: ${report.housekeeping.outbox_rows} delivered outbox row(s), ${report.housekeeping.attempts} attempt(s) pruned`);
      return lines;
    });
  },
};
