import { integerOption, stringOption, type OptionSpec, type OptionValues } from "./command.js";
import type { CommandContext } from "./context.js";
import { UsageError } from "./errors.js";

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** The options every listing command takes. */
export const PAGE_OPTIONS: Record<string, OptionSpec> = {
  limit: { type: "string", value: "n", description: "How many entries per page (default 50, at most 500)" },
  cursor: { type: "string", value: "cursor", description: "Continue from where the previous page ended (its next_cursor)" },
  all: { type: "boolean", description: "Follow every page (500 at a time unless --limit says otherwise)" },
};

export interface PageQuery {
  limit?: number;
  cursor?: string;
}

/**
 * One page as asked (`--limit`, `--cursor`), or with `--all` every page concatenated (then
 * `next_cursor` is null). `fetchPage` gets the query to send.
 */
export async function fetchPages<T>(values: OptionValues, command: string, fetchPage: (query: PageQuery) => Promise<Page<T>>): Promise<Page<T>> {
  const limit = integerOption(values, "limit", command, { min: 1, max: 500 });
  const cursor = stringOption(values, "cursor");
  if (values.all !== true) return fetchPage({ ...(limit !== undefined ? { limit } : {}), ...(cursor !== undefined ? { cursor } : {}) });
  if (cursor !== undefined) throw new UsageError("--all starts from the first page: leave out --cursor", command);
  const items: T[] = [];
  let next: string | undefined;
  do {
    const page = await fetchPage({ limit: limit ?? 500, ...(next !== undefined ? { cursor: next } : {}) });
    items.push(...page.items);
    next = page.next_cursor ?? undefined;
  } while (next !== undefined);
  return { items, next_cursor: null };
}

/** The line under a page that has more: how to get the rest. */
export function moreLine(ctx: CommandContext, page: Page<unknown>): string[] {
  return page.next_cursor ? [ctx.colour.dim(`(more: --cursor ${page.next_cursor}, or --all)`)] : [];
}
