import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

export interface SpawnedServer {
  child: ChildProcess;
  url: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/**
 * Runs `src/main.ts` as a real process (what `npm start` runs) and waits until it listens.
 * `nofile`: the process's open-file limit, set by `ulimit -n` in a shell that then execs node
 * (so `child.pid` is the registry's).
 */
export async function spawnServer(env: Record<string, string>, options: { waitForListen?: boolean; timeoutMs?: number; nofile?: number } = {}): Promise<SpawnedServer> {
  const port = env.PORT ?? String(await freePort());
  const node = [process.execPath, "--import", "tsx", "src/main.ts"];
  const [command, ...args] = options.nofile === undefined ? node : ["/bin/sh", "-c", `ulimit -n ${Math.floor(options.nofile)} && exec "$0" "$@"`, ...node];
  const child = spawn(command!, args, {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", LOG_LEVEL: "warn", ...env, PORT: port },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const server: SpawnedServer = {
    child,
    url: `http://127.0.0.1:${port}`,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
  if (options.waitForListen ?? true) {
    const deadline = Date.now() + (options.timeoutMs ?? 45_000);
    while (!out.includes("Pinset listening on")) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${err}`);
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`server did not start in time: ${out}\n${err}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return server;
}
