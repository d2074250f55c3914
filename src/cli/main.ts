import { run } from "./run.js";

/** The `pinset` executable: real process streams in, exit code out. */
export async function main(): Promise<void> {
  const code = await run({ argv: process.argv.slice(2), env: process.env, stdout: process.stdout, stderr: process.stderr });
  // Let stdout drain (pipes are asynchronous) instead of process.exit() cutting it short.
  process.exitCode = code;
}
