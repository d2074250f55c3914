/**
 * Blob upload throughput and server memory for one large blob, against a baseline measured in
 * the same run: writing the same bytes straight into the same kind of BlobStore in-process.
 *
 *   npx tsx scripts/bench-blob-upload.ts [--mib 1024]
 *
 * The server is the real thing (`src/main.ts` in a child process on the embedded default);
 * its RSS is sampled from /proc every 25 ms while the body streams in.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { FsBlobStore } from "../src/blobs/fs.js";
import { spawnServer } from "../test/support/spawn-server.js";

const MiB = 1024 * 1024;

/** Deterministic, incompressible-enough bytes: a random MiB with the chunk index stamped in. */
function* chunks(totalMiB: number, seed: Buffer): Generator<Buffer> {
  for (let i = 0; i < totalMiB; i++) {
    const chunk = Buffer.from(seed);
    chunk.writeUInt32BE(i, 0);
    yield chunk;
  }
}

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

function upload(url: string, token: string, totalMiB: number, seed: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream", "content-length": String(totalMiB * MiB) },
    });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    const gen = chunks(totalMiB, seed);
    const pump = () => {
      for (let next = gen.next(); !next.done; next = gen.next()) {
        if (!req.write(next.value)) {
          req.once("drain", pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

export interface BlobUploadResult {
  mib: number;
  serverMBps: number;
  directMBps: number;
  rssBeforeMiB: number;
  rssPeakMiB: number;
  rssGrowthMiB: number;
}

export async function runBlobUploadBench(totalMiB = 1024): Promise<BlobUploadResult> {
  const seed = Buffer.alloc(MiB);
  for (let i = 0; i < MiB; i += 4) seed.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, i);
  const hash = createHash("sha256");
  for (const c of chunks(totalMiB, seed)) hash.update(c);
  const digest = `sha256:${hash.digest("hex")}`;

  const dir = await mkdtemp(path.join(tmpdir(), "pinset-bench-blob-"));
  const token = "bench-admin-token-0123456789";
  const server = await spawnServer({ PINSET_DATA_DIR: path.join(dir, "server"), PINSET_ADMIN_TOKEN: token, PINSET_RATE_LIMIT_RPS: "0" });
  try {
    await fetch(`${server.url}/v1/projects/bench`, { method: "PUT", headers: { authorization: `Bearer ${token}` } });
    const pid = server.child.pid!;
    const before = await rssKiB(pid);
    let peak = before;
    let samples = 0;
    const sampler = setInterval(() => {
      rssKiB(pid).then(
        (v) => {
          samples++;
          peak = Math.max(peak, v);
        },
        () => {},
      );
    }, 25);
    const t0 = performance.now();
    const status = await upload(`${server.url}/v1/projects/bench/blobs/${digest}`, token, totalMiB, seed);
    const serverSeconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    if (samples < 10) throw new Error(`only ${samples} RSS samples were taken`);
    if (status !== 201) throw new Error(`upload answered ${status}`);

    const store = new FsBlobStore(path.join(dir, "direct"));
    const t1 = performance.now();
    await store.put("blobs/sha256/00/direct", (async function* () { yield* chunks(totalMiB, seed); })(), { digest });
    const directSeconds = (performance.now() - t1) / 1000;

    return {
      mib: totalMiB,
      serverMBps: (totalMiB * MiB) / 1e6 / serverSeconds,
      directMBps: (totalMiB * MiB) / 1e6 / directSeconds,
      rssBeforeMiB: before / 1024,
      rssPeakMiB: peak / 1024,
      rssGrowthMiB: (peak - before) / 1024,
    };
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { mib: { type: "string", default: "1024" } } });
  const r = await runBlobUploadBench(Number(values.mib));
  console.log(`blob upload of ${r.mib} MiB`);
  console.log(`  PUT /blobs through the server: ${r.serverMBps.toFixed(0)} MB/s`);
  console.log(`  same bytes into FsBlobStore:   ${r.directMBps.toFixed(0)} MB/s   (ratio ${(r.serverMBps / r.directMBps).toFixed(2)})`);
  console.log(`  server RSS: ${r.rssBeforeMiB.toFixed(0)} MiB before, ${r.rssPeakMiB.toFixed(0)} MiB peak, growth ${r.rssGrowthMiB.toFixed(1)} MiB (target < 100)`);
}
