import { ARTIFACT_KINDS } from "../artifacts/kinds/index.js";
import { compareCodeUnits } from "../core/compare.js";
import type { CodeRef, PinnedComponent } from "./ports.js";

export type { CodeRef, PinnedComponent } from "./ports.js";

/** Commit hashes are shortened like `git log --oneline` would, a little longer to stay unique. */
const SHORT_COMMIT = 12;

/**
 * One short readable line per kind present: `code_v` = `<repo>@<commit, first 12>`, and
 * `<kind>_v` = `<slot>=<name>@<version>` for every slot of that kind, in slot order, joined
 * with `, ` (e.g. `prompt_v: "answer=answer@2, system=greet@3"`). Kinds without a slot are
 * left out rather than given an empty line. Keys come out in a fixed order: code, then the
 * kinds in ARTIFACT_KINDS order.
 */
export function summarize(components: Record<string, PinnedComponent>, code: CodeRef | null): Record<string, string> {
  const summary: Record<string, string> = {};
  if (code) summary.code_v = `${code.repo}@${code.commit.slice(0, SHORT_COMMIT)}`;
  const slots = Object.keys(components).sort(compareCodeUnits);
  for (const kind of ARTIFACT_KINDS) {
    const parts = slots
      .filter((slot) => components[slot]!.kind === kind)
      .map((slot) => `${slot}=${components[slot]!.name}@${components[slot]!.version}`);
    if (parts.length > 0) summary[`${kind}_v`] = parts.join(", ");
  }
  return summary;
}
