import { cp, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { REPO_ROOT, spawnServer, type SpawnedServer } from "../spawn-server.js";
import type { DocBlock } from "./markdown.js";
import { ShellSession, writeWrappers, type BlockResult } from "./shell-session.js";

/** The address the docs are written for; blocks get the test registry's address instead. */
const DOCUMENTED_URLS = ["http://127.0.0.1:8080", "http://localhost:8080"];

/**
 * What a reader has when they run a document: a registry started by `npm start` in their
 * checkout (here: a real process on a free port, embedded database, a temporary data dir at
 * `./.pinset`), a second terminal in the checkout with `PINSET_URL` and `PINSET_TOKEN` exported,
 * and the checkout's files. The "checkout" is a temporary directory holding a copy of
 * `examples/`, so a block that writes files (`echo … > refunds.md`) never touches the repository.
 */
export class DocEnvironment {
  private constructor(
    readonly dir: string,
    readonly server: SpawnedServer,
    readonly token: string,
    private readonly shell: ShellSession,
  ) {}

  static async start(): Promise<DocEnvironment> {
    const dir = await mkdtemp(path.join(tmpdir(), "pinset-doc-test-"));
    try {
      const checkout = path.join(dir, "checkout");
      await mkdir(checkout);
      await cp(path.join(REPO_ROOT, "examples"), path.join(checkout, "examples"), { recursive: true }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
      });
      await mkdir(path.join(dir, "home"));
      await mkdir(path.join(dir, "scratch"));
      const basePath = process.env.PATH ?? "/usr/bin:/bin";
      await writeWrappers(path.join(dir, "bin"), { pinsetBin: path.join(REPO_ROOT, "bin/pinset.js"), path: basePath });
      const server = await spawnServer({ PINSET_DATA_DIR: path.join(checkout, ".pinset") }, { timeoutMs: 90_000 });
      const token = (await readFile(path.join(checkout, ".pinset/admin-token"), "utf8")).trim();
      const shell = new ShellSession({
        cwd: checkout,
        scratch: path.join(dir, "scratch"),
        wrappers: path.join(dir, "bin"),
        env: { PATH: basePath, HOME: path.join(dir, "home"), LANG: "C.UTF-8", TMPDIR: tmpdir(), PINSET_URL: server.url, PINSET_TOKEN: token },
      });
      return new DocEnvironment(dir, server, token, shell);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Runs a block with the documented address replaced by the test registry's. */
  run(block: DocBlock, timeoutMs: number): Promise<BlockResult> {
    let code = block.code;
    for (const url of DOCUMENTED_URLS) code = code.replaceAll(url, this.server.url);
    return this.shell.run({ file: block.file, line: block.line, code }, timeoutMs);
  }

  async close(): Promise<void> {
    await this.shell.close();
    await this.server.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
