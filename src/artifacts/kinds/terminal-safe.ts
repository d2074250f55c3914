import type { z } from "zod";
import { terminalUnsafeProblem } from "../../core/terminal-text.js";

/** A zod refinement for identifiers printed to people (index paths, tool permissions). */
export function refuseTerminalUnsafe(value: string, ctx: z.RefinementCtx): void {
  const problem = terminalUnsafeProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
}
