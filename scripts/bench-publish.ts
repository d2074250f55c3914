/**
 * `pinset publish index` throughput against a baseline measured in the same run: the same bytes
 * uploaded with plain sequential `PUT /blobs` requests, one file after the other over one
 * keep-alive connection (digests computed beforehand, outside the timing).
 *
 *   npx tsx scripts/bench-publish.ts [--mib 1024] [--files 200] [--runs 1]
 *
 * Both clients run in child processes and are timed from spawn to exit; the registry is the real
 * app in this process on PGlite + an fs blob store in a temp dir, fresh for every measurement
 * (an upload of bytes the store already holds is cheaper, which would flatter the second run).
 * The CLI's time includes everything it does: walking, hashing every file, HEAD checks,
 * uploads and the manifest publish. Target: ratio ≥ 0.70.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ADMIN_TOKEN, backends, startTestApp } from "../test/support/test-app.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const MiB = 1024 * 1024;
const TARGET = 0.7;

interface BenchFile {
  path: string;
  digest: string;
  size: number;
}

/** `count` files of random-looking bytes adding up to `total`; each unique (no dedup shortcuts). */
async function makeTree(dir: string, total: number, count: number): Promise<BenchFile[]> {
  const pool = randomBytes(8 * MiB);
  const files: BenchFile[] = [];
  const base = Math.floor(total / count);
  for (let i = 0; i < count; i++) {
    const size = i === count - 1 ? total - base * (count - 1) : base;
    const data = Buffer.allocUnsafe(size);
    for (let off = 0, from = (i * 7919) % MiB; off < size; from = 0) off += pool.copy(data, off, from);
    data.writeUInt32BE(i, 0);
    const file = path.join(dir, `part-${String(Math.floor(i / 50))}`, `shard-${String(i).padStart(4, "0")}.bin`);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, data);
    files.push({ path: file, size, digest: `sha256:${createHash("sha256").update(data).digest("hex")}` });
  }
  return files;
}

/** The baseline client: sequential PUTs streaming each file, one keep-alive socket. */
const BASELINE = `
import http from "node:http";
import { createReadStream } from "node:fs";
const { url, token, project, files } = JSON.parse(process.argv[1]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
for (const f of files) {
  await new Promise((resolve, reject) => {
    const req = http.request(url + "/v1/projects/" + project + "/blobs/" + f.digest, {
      method: "PUT", agent,
      headers: { authorization: "Bearer " + token, "content-type": "application/octet-stream", "content-length": String(f.size) },
    }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 201 ? resolve() : reject(new Error("PUT answered " + res.statusCode))));
    });
    req.on("error", reject);
    createReadStream(f.path, { highWaterMark: 1024 * 1024 }).pipe(req);
  });
}
agent.destroy();
`;

function timed(args: string[], env: Record<string, string>): Promise<{ seconds: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code === 0) resolve({ seconds, stdout });
      else reject(new Error(`${args.slice(0, 3).join(" ")} exited ${code}: ${stderr}`));
    });
  });
}

async function withRegistry<T>(fn: (url: string, bytesIn: () => Promise<number>) => Promise<T>): Promise<T> {
  const app = await startTestApp(backends()[0]!, { limits: { maxBlobBytes: 5 * 1024 * MiB } });
  try {
    if ((await app.request("PUT", "/v1/projects/bench")).status !== 201) throw new Error("cannot create the bench project");
    const bytesIn = async () => {
      const text = await (await fetch(`${app.url}/metrics`)).text();
      return Number(/^pinset_blob_bytes_in_total (\S+)$/m.exec(text)?.[1] ?? 0);
    };
    return await fn(app.url, bytesIn);
  } finally {
    await app.close();
  }
}

export interface PublishBenchResult {
  bytes: number;
  files: number;
  baselineMBps: number;
  cliMBps: number;
  ratio: number;
}

export async function runPublishBench(options: { mib?: number; files?: number; runs?: number } = {}): Promise<PublishBenchResult> {
  const total = (options.mib ?? 1024) * MiB;
  const count = options.files ?? 200;
  const runs = options.runs ?? 1;
  if (!existsSync(path.join(ROOT, "dist/cli/main.js"))) {
    console.log("building the CLI (dist/ is missing)…");
    await timed([path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {});
  }
  const tmp = await mkdtemp(path.join(tmpdir(), "pinset-bench-publish-"));
  try {
    const dir = path.join(tmp, "index");
    const files = await makeTree(dir, total, count);
    console.log(`bench-publish: ${count} files, ${(total / MiB).toFixed(0)} MiB in ${dir}`);
    let best = { baseline: Number.POSITIVE_INFINITY, cli: Number.POSITIVE_INFINITY };
    for (let run = 1; run <= runs; run++) {
      const baseline = await withRegistry(async (url, bytesIn) => {
        const payload = JSON.stringify({ url, token: ADMIN_TOKEN, project: "bench", files });
        const { seconds } = await timed(["--input-type=module", "-e", BASELINE, payload], {});
        if ((await bytesIn()) !== total) throw new Error("the baseline did not upload every byte");
        return seconds;
      });
      const cli = await withRegistry(async (url, bytesIn) => {
        const env = { PINSET_URL: url, PINSET_TOKEN: ADMIN_TOKEN, PINSET_PROJECT: "bench" };
        const { seconds, stdout } = await timed([path.join(ROOT, "bin/pinset.js"), "publish", "index", "bench", "--dir", dir, "--json"], env);
        const artifact = JSON.parse(stdout) as { version: number };
        if ((await bytesIn()) !== total || artifact.version !== 1) throw new Error("the CLI did not upload every byte and publish version 1");
        return seconds;
      });
      console.log(`  run ${run}: baseline ${baseline.toFixed(2)} s, pinset publish index ${cli.toFixed(2)} s`);
      best = { baseline: Math.min(best.baseline, baseline), cli: Math.min(best.cli, cli) };
    }
    const baselineMBps = total / 1e6 / best.baseline;
    const cliMBps = total / 1e6 / best.cli;
    return { bytes: total, files: count, baselineMBps, cliMBps, ratio: cliMBps / baselineMBps };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const { values } = parseArgs({ options: { mib: { type: "string" }, files: { type: "string" }, runs: { type: "string" } } });
  const result = await runPublishBench({
    ...(values.mib ? { mib: Number(values.mib) } : {}),
    ...(values.files ? { files: Number(values.files) } : {}),
    ...(values.runs ? { runs: Number(values.runs) } : {}),
  });
  console.log(`baseline (sequential PUT /blobs, one stream): ${result.baselineMBps.toFixed(1)} MB/s`);
  console.log(`pinset publish index (hash + HEAD + 4 parallel uploads + manifest): ${result.cliMBps.toFixed(1)} MB/s`);
  console.log(`ratio: ${result.ratio.toFixed(2)} (target ≥ ${TARGET}) ${result.ratio >= TARGET ? "PASS" : "FAIL"}`);
  process.exit(0);
}
