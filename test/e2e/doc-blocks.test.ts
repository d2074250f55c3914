import { stat } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DocEnvironment } from "../support/doc-blocks/environment.js";
import { loadProjectDocs, setupBlocks, type DocBlock, type DocFile } from "../support/doc-blocks/markdown.js";
import { REPO_ROOT } from "../support/spawn-server.js";
import { ensureCliBuilt } from "./cli-support.js";

/**
 * Every doc block is a test: each `sh`/`bash`/`shell` block of README.md and docs/*.md runs, in
 * document order, against a registry started for that document — so the docs cannot rot.
 *
 * - One registry and one bash (`set -euo pipefail`, `inherit_errexit`) per document: blocks
 *   share variables and the working directory, like a reader's terminal. The first failing
 *   command fails its block (with the Markdown line) and every later block of the document.
 * - What the test fills in: `PINSET_URL` and `PINSET_TOKEN` are exported (the registry's address
 *   and generated admin token, also at `./.pinset/admin-token` as after `npm start`);
 *   `http://127.0.0.1:8080` in a block becomes the registry's address; the working directory is
 *   a stand-in checkout with a copy of `examples/`; `npx pinset`/`pinset` run this checkout's
 *   bin/pinset.js; `curl` gets `--fail-with-body`, so an HTTP error answer fails the block.
 * - A block that cannot run here is marked `<!-- doc-test: skip — reason -->` right before its
 *   fence, and is listed as a skipped test with the reason. A document that continues another
 *   says `<!-- doc-test: after README.md#a-five-minute-walkthrough -->`: those blocks run first.
 *   (test/support/doc-blocks/markdown.ts has the rules.)
 * - CHECKS below assert what a section promises beyond "it exits 0". The documents are also
 *   checked for links to files or headings that do not exist, and for citing API.md.
 */

const docs = await loadProjectDocs(REPO_ROOT);
const BLOCK_TIMEOUT_MS = 150_000;

type Outputs = string[];

/** What a section's blocks must print, beyond running without error; keyed `file#heading-slug`. */
const CHECKS: Record<string, (stdout: Outputs) => void> = {
  "README.md#a-five-minute-walkthrough": ([out]) => {
    // The last command prints the history: rollback on top of two deploys.
    const history = JSON.parse(out!.slice(out!.lastIndexOf('{"items"')));
    expect(history.items.map((e: { action: string }) => e.action)).toEqual(["rollback", "deploy", "deploy"]);
    expect(history.items[0].version_set).toBe(history.items[2].version_set);
    expect(history.items[0].reason).toBe("refund answers got worse");
    // The diff printed on the way shows the temperature change and a unified prompt diff.
    expect(out).toContain('"field":"params.temperature","from":0.2,"to":0.7');
    expect(out).toMatch(/"unified":"--- a\/system\\n\+\+\+ b\/system\\n@@/);
  },
  "README.md#canary-release-in-five-calls": ([out]) => {
    expect(out).toContain('{"signal":"green","action":"advance"');
    expect(out).toMatch(/"percent":5,.*"state":"running"/);
    expect(out).toMatch(/"trigger":"manual","location":"reports\/\d{4}-\d{2}-\d{2}\/ro_[0-9a-f]+\/"/);
  },
  "docs/artifacts.md#errors": ([out]) => {
    // The refusal the document shows, as the registry words it today.
    expect(JSON.parse(out!).errors).toEqual([
      {
        path: "content.type",
        message: 'a contract is {"schema": {…a JSON Schema 2020-12…}}: "type" is not one of its fields (this looks like the schema itself: send {"schema": <it>})',
      },
    ]);
  },
  "docs/security.md#tokens": ([out]) => {
    expect(JSON.parse(out!)).toMatchObject({ name: "ci shop", scopes: ["publish", "deploy"], token: expect.stringMatching(/^pst_/) });
  },
  "docs/operations.md#retention-settings": ([out]) => {
    expect(out).toContain('{"days":30,"keep_last":10}{"days":30,"keep_last":10}');
  },
  "docs/operations.md#running-a-collection": ([out]) => {
    expect(out).toMatch(/^Dry run gc_[0-9a-f]{24}: would retire \d+ index version\(s\), would free \d+ blob\(s\)/);
    expect(out).toMatch(/\nRun gc_[0-9a-f]{24}: retired \d+ index version\(s\)/);
    expect(out).toMatch(/"items":\[\{"id":"gc_[0-9a-f]{24}".*"dry_run":false,"state":"finished"/);
  },
  "docs/canary.md#canary-release-in-five-calls": (outs) => {
    const out = outs.join("\n");
    expect(out).toContain('{"signal":"green","action":"advance"');
    expect(out).toContain('"state":"promoted"');
    expect(out).toContain('"manifest.json"');
  },
};

const skipped: DocBlock[] = docs.flatMap((d) => d.blocks.filter((b) => b.skip));

beforeAll(async () => {
  await ensureCliBuilt();
}, 240_000);

afterAll(() => {
  const ran = docs.reduce((n, d) => n + d.blocks.filter((b) => !b.skip).length, 0);
  const lines = skipped.map((b) => `  ${b.file}:${b.line} (${b.section}): ${b.skip}`);
  console.info(`doc blocks: ${ran} run, ${skipped.length} skipped${lines.length ? `:\n${lines.join("\n")}` : ""}`);
});

describe("doc blocks: the documents", () => {
  it("are well-formed, and every `after` target has runnable blocks", () => {
    const problems = docs.flatMap((d) => [...d.problems, ...setupBlocks(d, docs).problems]);
    expect(problems).toEqual([]);
  });

  it("link only to files and headings that exist", async () => {
    const broken: string[] = [];
    for (const doc of docs) {
      for (const { target, line } of doc.links) {
        const [file, anchor] = target.split("#") as [string, string | undefined];
        const resolved = file ? path.posix.normalize(path.posix.join(path.posix.dirname(doc.file), file)) : doc.file;
        if (file && !(await stat(path.join(REPO_ROOT, resolved)).catch(() => undefined))) broken.push(`${doc.file}:${line}: ${target} (no such file)`);
        const linked = docs.find((d) => d.file === resolved);
        if (anchor && linked && !linked.anchors.includes(anchor)) broken.push(`${doc.file}:${line}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("cite the OpenAPI document and the docs, never API.md or the team's shared notes", async () => {
    const cited = docs.flatMap((d) =>
      d.text.split("\n").flatMap((text, i) => (/\bAPI\.md\b|\.\.\/shared\b|shared notes/.test(text) ? [`${d.file}:${i + 1}: ${text.trim()}`] : [])),
    );
    expect(cited).toEqual([]);
  });

  it("every section CHECKS names exists and has runnable blocks", () => {
    for (const key of Object.keys(CHECKS)) {
      const [file, slug] = key.split("#");
      const blocks = docs.find((d) => d.file === file)?.blocks.filter((b) => b.slug === slug && !b.skip) ?? [];
      expect(blocks.length, `${key} has no runnable block: update CHECKS`).toBeGreaterThan(0);
    }
  });
});

for (const doc of docs.filter((d) => d.blocks.length > 0)) describeDocument(doc);

function describeDocument(doc: DocFile): void {
  const runnable = doc.blocks.filter((b) => !b.skip);
  const outputs = new Map<string, Outputs>();
  let env: DocEnvironment | undefined;
  let setupFailure: string | undefined;

  describe(doc.file, () => {
    beforeAll(async () => {
      if (runnable.length === 0) return;
      env = await DocEnvironment.start();
      for (const block of setupBlocks(doc, docs).blocks) {
        const result = await env.run(block, BLOCK_TIMEOUT_MS);
        if (!result.ok) {
          setupFailure = `setup for ${doc.file} (${block.file}:${block.line}) failed: ${result.failure}\n${result.stdout}\n${result.stderr}`;
          break;
        }
      }
    }, 240_000);
    afterAll(async () => {
      await env?.close();
    });

    for (const block of doc.blocks) {
      const name = `${block.file}:${block.line} (${block.section || "top"})`;
      if (block.skip) {
        it.skip(`${name}: skipped — ${block.skip}`, () => {});
        continue;
      }
      it(
        name,
        async () => {
          if (setupFailure) throw new Error(setupFailure);
          const result = await env!.run(block, BLOCK_TIMEOUT_MS);
          if (!result.ok) throw new Error(`${result.failure}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
          const key = `${doc.file}#${block.slug}`;
          outputs.set(key, [...(outputs.get(key) ?? []), result.stdout]);
          const lastOfSection = runnable.filter((b) => b.slug === block.slug).at(-1) === block;
          if (lastOfSection) CHECKS[key]?.(outputs.get(key)!);
        },
        BLOCK_TIMEOUT_MS + 30_000,
      );
    }
  });
}
