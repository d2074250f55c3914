/**
 * `npm run build:template`: the migrated PGlite data directory a fresh embedded start copies
 * (src/db/embedded-template.ts), in dist/embedded-template. Part of `npm run build`.
 */
import { buildEmbeddedTemplate, EMBEDDED_TEMPLATE_DIR } from "../src/db/embedded-template.js";

const started = performance.now();
try {
  const manifest = await buildEmbeddedTemplate();
  process.stdout.write(
    `embedded template: ${EMBEDDED_TEMPLATE_DIR} (PGlite ${manifest.pglite}, ${manifest.migrations.length} migrations) in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
} catch (err) {
  // An optimisation only: without the template a fresh embedded start runs initdb and the migrations.
  process.stderr.write(`warning: no embedded template (a fresh embedded start will take longer): ${(err as Error).stack ?? String(err)}\n`);
}
// PGlite's WebAssembly runtime can keep the event loop alive after close.
process.exit(0);
