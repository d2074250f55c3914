import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chown, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const BIN = "/usr/lib/postgresql/15/bin";

/**
 * A Postgres cluster of the test's own, which it can stop and start (TOOLCHAIN.md): initdb as
 * the postgres user into a temporary directory, `pg_ctl start` on a free port with fsync off,
 * `stop` with `-m immediate` (the server vanishes as in a crash). `destroy` stops it and removes
 * the directory; call it in a finally/afterAll so a failed test leaves nothing behind.
 */
export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  dir: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * SIGSTOP to the postmaster and every backend: the database hangs (connections stay open,
   * new ones are accepted by the kernel, nothing answers) instead of refusing. `resume` sends
   * SIGCONT; `stop` and `destroy` resume first.
   */
  pause(): Promise<void>;
  resume(): Promise<void>;
  destroy(): Promise<void>;
}

/** initdb refuses to run as root, so the steps run as `postgres` via su: needs root and the binaries. */
export function privatePostgresAvailable(): boolean {
  return process.getuid?.() === 0 && existsSync(`${BIN}/initdb`) && existsSync(`${BIN}/pg_ctl`);
}

async function asPostgres(command: string): Promise<void> {
  await run("su", ["postgres", "-c", command], { timeout: 30_000 });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The postmaster (first line of postmaster.pid) and its children, from /proc. */
async function clusterPids(data: string): Promise<number[]> {
  const postmaster = Number((await readFile(`${data}/postmaster.pid`, "utf8")).split("\n")[0]);
  if (!Number.isInteger(postmaster) || postmaster <= 0) throw new Error(`no postmaster pid in ${data}`);
  const children: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === postmaster) children.push(Number(entry));
  }
  return [postmaster, ...children];
}

export async function createPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = await mkdtemp(path.join(tmpdir(), "pinset-pg-"));
  const { stdout } = await run("id", ["-u", "postgres"]);
  const { stdout: gid } = await run("id", ["-g", "postgres"]);
  await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  const data = `${dir}/data`;
  let running = false;
  let paused: number[] = [];
  let port = 0;
  try {
    await asPostgres(`${BIN}/initdb -D ${data} -U postgres --auth=trust -E UTF8 --no-locale`);
    port = await freePort();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const cluster: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    async start() {
      await asPostgres(
        `${BIN}/pg_ctl -D ${data} -l ${dir}/pg.log -w -o '-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off' start`,
      );
      running = true;
    },
    async stop() {
      await cluster.resume();
      await asPostgres(`${BIN}/pg_ctl -D ${data} -m immediate -w stop`);
      running = false;
    },
    async pause() {
      if (paused.length > 0) return;
      // The postmaster first, so it forks no new backend while its children are being stopped.
      paused = await clusterPids(data);
      for (const pid of paused) process.kill(pid, "SIGSTOP");
    },
    async resume() {
      for (const pid of paused) {
        try {
          process.kill(pid, "SIGCONT");
        } catch {
          // Gone already.
        }
      }
      paused = [];
    },
    async destroy() {
      if (running) await cluster.stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await cluster.start();
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
  return cluster;
}
