/**
 * Builds the web console (console/) into dist/console/: content-hashed files under assets/,
 * index.html pointing at them, and manifest.json, which the server reads at start
 * (src/console/bundle.ts). `npm run build:console` type-checks console/ first; `prepare`
 * runs it, so `npm install && npm start` serves the console.
 */
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
export const consoleOutDir = path.join(root, "dist", "console");

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

export interface ConsoleBuild {
  js: string;
  css: string;
  /** Bytes of the initial JavaScript, raw and gzipped (the budget is 150 KB gzipped). */
  jsBytes: number;
  jsGzipBytes: number;
}

export async function buildConsole(outDir = consoleOutDir): Promise<ConsoleBuild> {
  const assetsDir = path.join(outDir, "assets");
  // Only what an earlier console build wrote: the directory may also hold compiled server modules.
  await rm(assetsDir, { recursive: true, force: true });
  await mkdir(assetsDir, { recursive: true });
  const result = await build({
    entryPoints: [path.join(root, "console", "main.tsx")],
    outdir: assetsDir,
    bundle: true,
    minify: true,
    format: "esm",
    target: ["es2022"],
    entryNames: "[name]-[hash]",
    assetNames: "[name]-[hash]",
    loader: { ".svg": "file" },
    publicPath: "/ui/assets",
    jsx: "automatic",
    jsxImportSource: "preact",
    legalComments: "none",
    metafile: true,
    sourcemap: false,
    logLevel: "warning",
  });
  const files = await readdir(assetsDir);
  const js = files.find((f) => f.startsWith("main-") && f.endsWith(".js"));
  const css = files.find((f) => f.startsWith("main-") && f.endsWith(".css"));
  const icon = files.find((f) => f.startsWith("favicon-") && f.endsWith(".svg"));
  if (!js || !css || !icon) throw new Error(`console build is missing its script, style or icon: ${files.join(", ")}`);
  const assets: Record<string, { type: string; size: number }> = {};
  for (const [file, meta] of Object.entries(result.metafile.outputs)) {
    const name = path.basename(file);
    const type = TYPES[path.extname(name)];
    if (!type) throw new Error(`no media type for ${name}`);
    assets[name] = { type, size: meta.bytes };
  }
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pinset console</title>
<link rel="icon" href="/ui/assets/${icon}" type="image/svg+xml">
<link rel="stylesheet" href="/ui/assets/${css}">
<script type="module" src="/ui/assets/${js}"></script>
</head>
<body>
<div id="app"></div>
<noscript><p>The Pinset console needs JavaScript. The JSON API is under /v1.</p></noscript>
</body>
</html>
`;
  await writeFile(path.join(outDir, "index.html"), html);
  await writeFile(path.join(outDir, "manifest.json"), JSON.stringify({ index: "index.html", assets }, null, 2) + "\n");
  const jsBody = await readFile(path.join(assetsDir, js));
  return { js, css, jsBytes: jsBody.length, jsGzipBytes: gzipSync(jsBody, { level: 9 }).length };
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (invokedDirectly) {
  const built = await buildConsole();
  process.stdout.write(`console built into ${path.relative(root, consoleOutDir)}/: ${built.js} ${(built.jsBytes / 1024).toFixed(1)} KB (${(built.jsGzipBytes / 1024).toFixed(1)} KB gzipped), ${built.css}\n`);
}
