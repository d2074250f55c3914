import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { headingSlug, parseMarkdown, setupBlocks } from "../support/doc-blocks/markdown.js";
import { ShellSession, writeWrappers } from "../support/doc-blocks/shell-session.js";

const fence = "```";

describe("doc blocks: reading the Markdown", () => {
  it("finds sh, bash and shell fences with their line, section and code; other fences are not blocks", () => {
    const doc = parseMarkdown(
      "docs/x.md",
      [
        "# Title",
        "## Two commands: `a` + b",
        `${fence}sh`,
        "echo one",
        fence,
        `${fence}yaml`,
        "key: value",
        fence,
        "### Deeper",
        "  ~~~bash",
        "  echo two",
        "  ~~~",
        `${fence}js`,
        `${fence}sh`, // a fence inside a js block is text, not a block
        fence,
        `${fence}shell title="x"`,
        "echo three",
        fence,
      ].join("\n"),
    );
    expect(doc.problems).toEqual([]);
    expect(doc.blocks.map((b) => [b.line, b.lang, b.code, b.section, b.slug])).toEqual([
      [3, "sh", "echo one\n", "Two commands: `a` + b", "two-commands-a--b"],
      [10, "bash", "echo two\n", "Deeper", "deeper"],
      [16, "shell", "echo three\n", "Deeper", "deeper"],
    ]);
    expect(doc.blocks[1]!.sections).toEqual(["title", "two-commands-a--b", "deeper"]);
  });

  it("a skip marker (reason required) marks the next block; dangling or unknown markers are problems", () => {
    const doc = parseMarkdown(
      "README.md",
      [
        "<!-- doc-test: skip — needs S3 -->",
        "",
        `${fence}sh`,
        "aws s3 ls",
        fence,
        "<!-- doc-test: skip -->",
        `${fence}sh`,
        "echo no reason",
        fence,
        "<!-- doc-test: skip — before prose -->",
        "Some prose.",
        `${fence}sh`,
        "echo runs",
        fence,
        "<!-- doc-test: skip — before yaml -->",
        `${fence}yaml`,
        fence,
        "<!-- doc-test: sikp — typo -->",
        "<!-- doc-test skip",
        "<!-- doc-test: after README -->",
        "Prose may mention `<!-- doc-test: skip — reason -->` inline: only a line of its own is a marker.",
      ].join("\n"),
    );
    expect(doc.blocks.map((b) => b.skip)).toEqual(["needs S3", undefined, undefined]);
    expect(doc.problems).toEqual([
      "README.md:6: a skip marker needs a reason: <!-- doc-test: skip — why it cannot run here -->",
      "README.md:10: a skip marker must be followed by its block (only blank lines between)",
      "README.md:15: a skip marker must precede a sh/bash/shell block, not a `yaml` fence",
      'README.md:18: unknown doc-test marker "sikp" (skip or after)',
      "README.md:19: a doc-test marker is one line of its own: <!-- doc-test: … -->",
      'README.md:20: an after marker names FILE#heading-slug, not "README"',
    ]);
  });

  it("after markers bring the runnable blocks under another document's heading, and name a bad target", () => {
    const readme = parseMarkdown("README.md", ["## Walk", `${fence}sh`, "V1=1", fence, "### Sub", `${fence}sh`, "V2=2", fence, "## Other", `${fence}sh`, "V3=3", fence].join("\n"));
    const doc = parseMarkdown("docs/a.md", ["<!-- doc-test: after README.md#walk -->", "<!-- doc-test: after README.md#nope -->", "<!-- doc-test: after docs/none.md#walk -->"].join("\n"));
    const setup = setupBlocks(doc, [readme, doc]);
    expect(setup.blocks.map((b) => b.code)).toEqual(["V1=1\n", "V2=2\n"]);
    expect(setup.problems).toEqual(["docs/a.md:2: after README.md#nope: no runnable block under that heading", "docs/a.md:3: after docs/none.md#walk: no such document"]);
    expect(headingSlug("Real Postgres + S3")).toBe("real-postgres--s3");
    expect(headingSlug("In your runtime: the SDK")).toBe("in-your-runtime-the-sdk");
  });
});

describe("doc blocks: running them in one shell per document", () => {
  let dir: string;
  let server: Server;
  let url: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "pinset-doc-blocks-"));
    await mkdir(path.join(dir, "scratch"));
    await writeFile(path.join(dir, "fake-pinset.js"), "console.log('pinset', process.argv.slice(2).join(' '));\n");
    await writeWrappers(path.join(dir, "bin"), { pinsetBin: path.join(dir, "fake-pinset.js"), path: process.env.PATH ?? "" });
    server = createServer((req, res) => {
      res.statusCode = req.url === "/conflict" ? 409 : 200;
      res.end(req.url === "/conflict" ? '{"code":"gate_blocked"}' : '{"id":"vs_1"}');
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  const session = () =>
    new ShellSession({ cwd: dir, scratch: path.join(dir, "scratch"), wrappers: path.join(dir, "bin"), env: { PATH: process.env.PATH ?? "", HOME: dir, URL_: url } });

  it("carries variables and the working directory from block to block; runs `npx pinset` from the checkout", async () => {
    const shell = session();
    try {
      const first = await shell.run({ file: "README.md", line: 10, code: 'V1=$(curl -s "$URL_/ok" | sed -E \'s/.*"id":"([^"]+)".*/\\1/\')\nmkdir -p sub && cd sub\n' }, 10_000);
      expect(first).toMatchObject({ ok: true });
      const second = await shell.run({ file: "README.md", line: 20, code: 'echo "$V1 in $(basename "$PWD")"\nnpx pinset deploy production "$V1"\ncat </dev/stdin || true\n' }, 10_000);
      expect(second).toEqual({ ok: true, stdout: "vs_1 in sub\npinset deploy production vs_1\n", stderr: "" });
    } finally {
      await shell.close();
    }
  });

  it("an HTTP error answer fails its block with the Markdown line and command; later blocks are not run", async () => {
    const shell = session();
    try {
      const failed = await shell.run({ file: "README.md", line: 40, code: 'echo start\ncurl -s -X POST "$URL_/conflict" \\\n  -d "{}"\necho never\n' }, 10_000);
      expect(failed.ok).toBe(false);
      expect(failed.failure).toBe('README.md:42: `curl -s -X POST "$URL_/conflict" -d "{}"` exited with 22');
      expect(failed.stdout).toBe('start\n{"code":"gate_blocked"}');
      const next = await shell.run({ file: "README.md", line: 60, code: "echo later\n" }, 10_000);
      expect(next).toEqual({ ok: false, stdout: "", stderr: "", failure: "not run: the block at README.md:40 failed first" });
    } finally {
      await shell.close();
    }
  });

  it("a block's own curl --fail / -sf is kept and still fails on an HTTP error", async () => {
    for (const code of ['curl -sf "$URL_/conflict"\n', 'curl -s --fail "$URL_/conflict"\n']) {
      const shell = session();
      try {
        expect((await shell.run({ file: "docs/x.md", line: 1, code }, 10_000)).failure, code).toMatch(/exited with 22$/);
      } finally {
        await shell.close();
      }
    }
    const shell = session();
    try {
      expect(await shell.run({ file: "docs/x.md", line: 1, code: 'curl -sSf "$URL_/ok"\n' }, 10_000)).toEqual({ ok: true, stdout: '{"id":"vs_1"}', stderr: "" });
    } finally {
      await shell.close();
    }
  });

  it("unset variables and failures inside pipelines and command substitutions fail (set -euo pipefail, inherit_errexit)", async () => {
    for (const code of ['echo "$NOT_SET"\n', "false | cat\n", 'X="$(false; echo masked)"\n']) {
      const shell = session();
      try {
        const result = await shell.run({ file: "docs/x.md", line: 1, code }, 10_000);
        expect(result.ok, code).toBe(false);
      } finally {
        await shell.close();
      }
    }
  });

  it("a block that hangs is killed at its time limit", async () => {
    const shell = session();
    try {
      const result = await shell.run({ file: "docs/x.md", line: 5, code: "sleep 30\n" }, 500);
      expect(result).toMatchObject({ ok: false, failure: "docs/x.md:5: still running after 0.5 s (killed)" });
    } finally {
      await shell.close();
    }
  });
});
