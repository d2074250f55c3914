import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

/**
 * Finds the shell blocks of the project's Markdown so a test can run them (test/e2e/doc-blocks.test.ts).
 *
 * Markers, each an HTML comment on a line of its own (invisible on GitHub):
 * - `<!-- doc-test: skip — <reason> -->` right before a fence (blank lines may sit between):
 *   that block is not run and the test lists it with the reason. A reason is required.
 * - `<!-- doc-test: after <file>#<heading-slug> -->` anywhere in a document: before its own
 *   blocks run, the runnable blocks under that heading of that file run first, in the same
 *   shell (e.g. docs/canary.md continues the README's walkthrough). One level: the setup's own
 *   `after` markers are not followed.
 * Anything else starting with `<!-- doc-test` is an error, so a typo cannot silently skip nothing.
 */

/** Fence info strings whose blocks are run. Any other fence (yaml, js, text, …) is not a shell block. */
export const SHELL_LANGUAGES = new Set(["sh", "bash", "shell"]);

export interface DocBlock {
  /** Path relative to the repository, `/`-separated (e.g. `docs/cli.md`). */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  code: string;
  /** The nearest heading above the block ("" before the first one), and its GitHub anchor slug. */
  section: string;
  slug: string;
  /** Slugs of every heading the block is under (outermost first). */
  sections: string[];
  /** Set when a skip marker precedes the block. */
  skip?: string;
}

export interface DocFile {
  file: string;
  /** The whole Markdown. */
  text: string;
  /** Every fenced block with a shell info string, in document order. */
  blocks: DocBlock[];
  /** `after` markers: `{ file, slug }` targets, in document order. */
  after: Array<{ file: string; slug: string; line: number }>;
  /** Malformed or dangling markers, each with its line: the test fails on any. */
  problems: string[];
  /** Heading anchors (slugs) of the document. */
  anchors: string[];
  /** Relative link targets outside code (`docs/cli.md`, `#errors`, `../openapi/pinset.yaml`), with their line. */
  links: Array<{ target: string; line: number }>;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function headingSlug(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

const FENCE = /^( {0,3})(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const MARKER = /^\s*<!--\s*doc-test\b(.*?)-->\s*$/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;

export function parseMarkdown(file: string, text: string): DocFile {
  const lines = text.split("\n");
  const doc: DocFile = { file, text, blocks: [], after: [], problems: [], anchors: [], links: [] };
  const headings: Array<{ level: number; text: string; slug: string }> = [];
  let pendingSkip: { reason: string; line: number } | undefined;

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = FENCE.exec(line);
    if (fence) {
      const [, indent, marks, lang] = fence;
      const body: string[] = [];
      let j = i + 1;
      const closing = new RegExp(`^ {0,3}${marks![0] === "`" ? "`" : "~"}{${marks!.length},}\\s*$`);
      while (j < lines.length && !closing.test(lines[j]!)) {
        // Content lines lose up to the fence's own indentation, as CommonMark reads them.
        body.push(lines[j]!.replace(new RegExp(`^ {0,${indent!.length}}`), ""));
        j++;
      }
      const language = lang!.toLowerCase();
      if (SHELL_LANGUAGES.has(language)) {
        const current = headings[headings.length - 1];
        doc.blocks.push({
          file,
          line: i + 1,
          lang: language,
          code: `${body.join("\n")}\n`,
          section: current?.text ?? "",
          slug: current?.slug ?? "",
          sections: headings.map((h) => h.slug),
          ...(pendingSkip ? { skip: pendingSkip.reason } : {}),
        });
      } else if (pendingSkip) {
        doc.problems.push(`${file}:${pendingSkip.line}: a skip marker must precede a sh/bash/shell block, not a \`${lang || "plain"}\` fence`);
      }
      pendingSkip = undefined;
      i = j;
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      const level = heading[1]!.length;
      while (headings.length > 0 && headings[headings.length - 1]!.level >= level) headings.pop();
      headings.push({ level, text: heading[2]!, slug: headingSlug(heading[2]!) });
      doc.anchors.push(headingSlug(heading[2]!));
    }
    for (const link of line.replace(/`[^`]*`/g, "").matchAll(/\]\(([^)\s]+)\)/g)) {
      if (!/^[a-z][a-z0-9+.-]*:/i.test(link[1]!)) doc.links.push({ target: link[1]!, line: i + 1 });
    }
    if (/^\s*<!--\s*doc-test/.test(line)) {
      const marker = MARKER.exec(line);
      const problem = marker
        ? readMarker(doc, marker[1]!.trim(), i + 1, (reason) => (pendingSkip = { reason, line: i + 1 }))
        : "a doc-test marker is one line of its own: <!-- doc-test: … -->";
      if (problem) doc.problems.push(`${file}:${i + 1}: ${problem}`);
      continue;
    }
    if (pendingSkip && line.trim() !== "") {
      doc.problems.push(`${file}:${pendingSkip.line}: a skip marker must be followed by its block (only blank lines between)`);
      pendingSkip = undefined;
    }
  }
  if (pendingSkip) doc.problems.push(`${file}:${pendingSkip.line}: a skip marker at the end of the file skips nothing`);
  return doc;
}

function readMarker(doc: DocFile, body: string, line: number, skip: (reason: string) => void): string | undefined {
  const m = /^:\s*(\S+)\s*(.*)$/.exec(body);
  if (!m) return `cannot read the marker "<!-- doc-test${body} -->": write <!-- doc-test: skip — reason --> or <!-- doc-test: after FILE#heading -->`;
  const [, verb, rest] = m;
  if (verb === "skip") {
    const reason = rest!.replace(/^[—–:-]\s*/, "").trim();
    if (!reason) return "a skip marker needs a reason: <!-- doc-test: skip — why it cannot run here -->";
    skip(reason);
    return undefined;
  }
  if (verb === "after") {
    const target = /^([^#\s]+)#(\S+)$/.exec(rest!.trim());
    if (!target) return `an after marker names FILE#heading-slug, not "${rest}"`;
    doc.after.push({ file: target[1]!, slug: target[2]!, line });
    return undefined;
  }
  return `unknown doc-test marker "${verb}" (skip or after)`;
}

/** README.md and every docs/*.md of the repository, parsed; new files are picked up as they appear. */
export async function loadProjectDocs(root: string): Promise<DocFile[]> {
  const docs = (await readdir(path.join(root, "docs")).catch(() => []))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`);
  const files = ["README.md", ...docs];
  return Promise.all(files.map(async (file) => parseMarkdown(file, await readFile(path.join(root, file), "utf8"))));
}

/**
 * The blocks to run before a document's own: the runnable blocks under each `after` target.
 * An unknown file or heading, or a target without runnable blocks, is a problem.
 */
export function setupBlocks(doc: DocFile, all: DocFile[]): { blocks: DocBlock[]; problems: string[] } {
  const blocks: DocBlock[] = [];
  const problems: string[] = [];
  for (const target of doc.after) {
    const source = all.find((d) => d.file === target.file);
    if (!source) {
      problems.push(`${doc.file}:${target.line}: after ${target.file}#${target.slug}: no such document`);
      continue;
    }
    const found = source.blocks.filter((b) => b.sections.includes(target.slug) && !b.skip);
    if (found.length === 0) problems.push(`${doc.file}:${target.line}: after ${target.file}#${target.slug}: no runnable block under that heading`);
    blocks.push(...found);
  }
  return { blocks, problems };
}
