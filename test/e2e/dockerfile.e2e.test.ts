/**
 * SLOW (2–5 minutes: two `npm ci`, a full build, a server start). The Dockerfile's own steps,
 * run without a Docker engine: the file is parsed (test/support/dockerfile.ts) and each stage's
 * WORKDIR, ENV, COPY [--from], RUN and USER are carried out in a clean copy of the repository
 * (`git ls-files`: committed and new files, nothing ignored), each stage's filesystem a temp
 * directory (an absolute path `/x` of stage S is `<tmp>/S/x`). Then the last stage's CMD starts
 * with its ENVs and must answer /readyz 200, the HEALTHCHECK command must pass against it, and
 * the runtime's node_modules must hold neither tsx nor TypeScript.
 *
 * npm uses this machine's cache (the Dockerfile mounts a cache at npm's cache directory) and
 * prefers it to the network. `chown` is replaced by a recorder: the runtime's user (`node`)
 * does not exist here, so the test checks instead that what is chowned goes to USER.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDockerfile, parseEnv, type Stage } from "../support/dockerfile.js";
import { freePort, REPO_ROOT } from "../support/spawn-server.js";

interface StageResult {
  root: string;
  cwd: string;
  env: Record<string, string>;
  user?: string;
  cmd?: string[];
  healthcheck?: string[];
}

const npmCache = spawnSync("npm", ["config", "get", "cache"], { encoding: "utf8" }).stdout.trim();

describe("the Dockerfile's steps, run without Docker", () => {
  let tmp: string;
  let context: string;
  let stages: Stage[];
  const results = new Map<string, StageResult>();
  let chowns: string[] = [];
  let server: ChildProcess | undefined;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), "pinset-dockerfile-"));
    context = path.join(tmp, "context");
    const files = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: REPO_ROOT, encoding: "utf8" }).stdout.split("\0").filter(Boolean);
    for (const file of files) {
      if (!existsSync(path.join(REPO_ROOT, file))) continue; // deleted, not yet committed
      await mkdir(path.dirname(path.join(context, file)), { recursive: true });
      await cp(path.join(REPO_ROOT, file), path.join(context, file));
    }
    stages = parseDockerfile(await readFile(path.join(context, "Dockerfile"), "utf8"));
  });

  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill("SIGTERM");
      await new Promise((resolve) => server!.once("exit", resolve));
    }
    await rm(tmp, { recursive: true, force: true });
  });

  /** `/x` in stage `stage` → `<tmp>/fs-<stage>/x`. */
  const inStage = (stage: string, p: string) => path.join(tmp, `fs-${stage}`, p);

  async function runStage(stage: Stage): Promise<StageResult> {
    const root = path.join(tmp, `fs-${stage.name}`);
    const bin = path.join(tmp, `shims-${stage.name}`);
    await mkdir(bin, { recursive: true });
    const chownLog = path.join(tmp, "chown.log");
    await writeFile(path.join(bin, "chown"), `#!/bin/sh\necho "$@" >> ${chownLog}\n`);
    await chmod(path.join(bin, "chown"), 0o755);
    const result: StageResult = { root, cwd: root, env: {} };
    // Absolute container paths named by the stage's WORKDIR/ENV/VOLUME, rewritten in its RUN lines.
    const containerPaths = new Set<string>();
    const mapPaths = (command: string) =>
      [...containerPaths].sort((a, b) => b.length - a.length).reduce((text, p) => text.replace(new RegExp(`(?<![\\w./-])${p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?=[/\\s;&|]|$)`, "g"), inStage(stage.name, p)), command);
    const hostPath = (p: string) => (path.isAbsolute(p) ? inStage(stage.name, p) : path.resolve(result.cwd, p));

    for (const step of stage.instructions) {
      switch (step.keyword) {
        case "WORKDIR":
          containerPaths.add(step.args[0]!);
          result.cwd = hostPath(step.args[0]!);
          await mkdir(result.cwd, { recursive: true });
          break;
        case "ENV":
          for (const [key, value] of Object.entries(parseEnv(step))) {
            if (value.startsWith("/")) containerPaths.add(value);
            result.env[key] = value.startsWith("/") ? inStage(stage.name, value) : value;
          }
          break;
        case "COPY": {
          const sources = step.args.slice(0, -1);
          const dest = hostPath(step.args.at(-1)!);
          const from = step.flags.from;
          for (const source of sources) {
            const src = from ? inStage(from, source) : path.join(context, source);
            expect(existsSync(src), `COPY source ${from ? `${from}:` : ""}${source}`).toBe(true);
            if (source === "." || step.args.at(-1)!.endsWith("/") || sources.length > 1) {
              const target = source === "." ? dest : path.join(dest, path.basename(source));
              await cp(src, target, { recursive: true });
            } else {
              await mkdir(path.dirname(dest), { recursive: true });
              await cp(src, dest, { recursive: true });
            }
          }
          break;
        }
        case "RUN": {
          const mount = step.flags.mount ?? "";
          const env: Record<string, string> = {
            PATH: `${bin}:${process.env.PATH}`,
            HOME: process.env.HOME ?? "/root",
            npm_config_prefer_offline: "true",
            npm_config_update_notifier: "false",
            ...result.env,
          };
          // A cache mount at npm's cache directory: this machine's npm cache stands in for it.
          if (/type=cache/.test(mount) && /target=\/root\/\.npm\b/.test(mount)) env.npm_config_cache = npmCache;
          const command = mapPaths(step.raw);
          const run = spawnSync("/bin/sh", ["-c", command], { cwd: result.cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
          expect(run.status, `RUN ${step.raw}\n${run.stdout.slice(-4000)}\n${run.stderr.slice(-4000)}`).toBe(0);
          break;
        }
        case "USER":
          result.user = step.args[0];
          break;
        case "CMD":
          expect(step.exec, "CMD in exec form").toBe(true);
          result.cmd = step.args;
          break;
        case "HEALTHCHECK":
          expect(step.exec, "HEALTHCHECK CMD in exec form").toBe(true);
          result.healthcheck = step.args;
          break;
        case "VOLUME":
          for (const v of step.exec ? step.args : step.args) containerPaths.add(v);
          break;
        default:
          break; // EXPOSE, ARG, LABEL: nothing to run
      }
    }
    chowns = existsSync(chownLog) ? (await readFile(chownLog, "utf8")).trim().split("\n") : [];
    return result;
  }

  it("builds in the first stage, installs production dependencies only in the last, and runs the compiled server as a non-root user", async () => {
    expect(stages.map((s) => s.name)).toEqual(["build", "runtime"]);
    for (const stage of stages) results.set(stage.name, await runStage(stage));
    const build = results.get("build")!;
    const runtime = results.get("runtime")!;

    // The build stage compiled the server (and made the embedded template).
    expect(existsSync(path.join(build.cwd, "dist/main.js"))).toBe(true);
    expect(existsSync(path.join(build.cwd, "dist/embedded-template/template.json"))).toBe(true);

    // The runtime: compiled code, production dependencies, never TypeScript or tsx.
    expect(runtime.env.NODE_ENV).toBe("production");
    expect(runtime.cmd).toEqual(["node", "dist/main.js"]);
    expect(runtime.user).toBeDefined();
    expect(runtime.user).not.toMatch(/^(root|0)(:|$)/);
    const modules = await readdir(path.join(runtime.cwd, "node_modules"));
    expect(modules).toContain("express");
    for (const dev of ["tsx", "typescript", "vitest", "esbuild", "@redocly"]) expect(modules, dev).not.toContain(dev);
    const nested = spawnSync("find", [path.join(runtime.cwd, "node_modules"), "-type", "d", "(", "-name", "tsx", "-o", "-name", "typescript", ")", "-path", "*/node_modules/*"], { encoding: "utf8" }).stdout.trim();
    expect(nested).toBe("");
    expect(existsSync(path.join(runtime.cwd, "src"))).toBe(false);
    // The data directory belongs to the user the server runs as.
    expect(chowns).toContain(`${runtime.user}:${runtime.user} ${runtime.env.PINSET_DATA_DIR}`);

    // Start it as the image would (its ENVs; only the port is a free one here).
    const port = await freePort();
    const [command, ...args] = runtime.cmd!;
    const env = { PATH: process.env.PATH ?? "", ...runtime.env, PORT: String(port) };
    expect(command).toBe("node");
    let out = "";
    server = spawn(process.execPath, args, { cwd: runtime.cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    server.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    server.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 90_000;
    let status = 0;
    while (status !== 200) {
      if (server.exitCode !== null) throw new Error(`the runtime stage's CMD exited with ${server.exitCode}:\n${out}`);
      if (Date.now() > deadline) throw new Error(`no /readyz 200 within 90 s:\n${out}`);
      status = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0);
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(out).toContain(`starting the embedded database in ${runtime.env.PINSET_DATA_DIR}/db`);
    expect(out).toContain(`Pinset listening on http://0.0.0.0:${port}`);
    // The whole dist/ was copied: the web console the build stage bundled is served too.
    expect(out).toContain(`console:  http://0.0.0.0:${port}/`);
    expect(out).not.toMatch(/tsx|typescript/i);

    // The image's HEALTHCHECK passes against it.
    const [hcCommand, ...hcArgs] = runtime.healthcheck!;
    expect(hcCommand).toBe("node");
    const health = spawnSync(process.execPath, hcArgs, { cwd: runtime.cwd, env, encoding: "utf8" });
    expect(health.status, health.stderr).toBe(0);
  }, 900_000);
});
