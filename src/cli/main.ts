import { run } from "./run.js";

/** The `pinset` executable: real process streams in, exit code out. */
export async function main(): Promise<void> {
  let interrupt: AbortController | undefined;
  const stop = () => interrupt?.abort();
  const code = await run({
    argv: process.argv.slice(2),
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: () => process.stdin,
    interrupts: () => {
      if (!interrupt) {
        interrupt = new AbortController();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      }
      return interrupt.signal;
    },
  });
  process.off("SIGINT", stop);
  process.off("SIGTERM", stop);
  // Let stdout drain (pipes are asynchronous) instead of process.exit() cutting it short.
  process.exitCode = code;
}
