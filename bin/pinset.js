#!/usr/bin/env node
// The `pinset` command. Runs the compiled CLI from dist/ (built by `npm run build`, and by the
// `prepare` script on install); a checkout that was never built runs the TypeScript sources
// through tsx instead, so `npx pinset` works either way.
import { existsSync } from "node:fs";

const compiled = new URL("../dist/cli/main.js", import.meta.url);
let entry = compiled;
if (!existsSync(compiled)) {
  const { register } = await import("tsx/esm/api");
  register();
  entry = new URL("../src/cli/main.ts", import.meta.url);
}
const { main } = await import(entry.href);
await main();
