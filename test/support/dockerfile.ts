/**
 * Just enough of the Dockerfile format to run a Dockerfile's steps without a Docker engine
 * (test/e2e/dockerfile.e2e.test.ts): stages (`FROM image AS name`), and per stage its
 * instructions with their flags (`COPY --from=…`, `RUN --mount=…`). Comments, parser
 * directives and line continuations are handled; an instruction this file does not know makes
 * the parse fail, so the test learns about every new kind of step.
 */
export interface Instruction {
  keyword: string;
  flags: Record<string, string>;
  /** The arguments after the flags: the exec form's JSON array, or the shell form's words. */
  args: string[];
  /** The arguments as written (the shell form's command line). */
  raw: string;
  /** True for the JSON exec form (`["node", "x.js"]`). */
  exec: boolean;
}

export interface Stage {
  name: string;
  image: string;
  instructions: Instruction[];
}

const KNOWN = new Set(["FROM", "WORKDIR", "ENV", "COPY", "RUN", "USER", "CMD", "EXPOSE", "VOLUME", "HEALTHCHECK", "ARG", "LABEL"]);

function logicalLines(text: string): string[] {
  const lines: string[] = [];
  let current = "";
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (current === "" && (trimmed === "" || trimmed.startsWith("#"))) continue;
    if (current !== "" && trimmed.startsWith("#")) continue;
    if (trimmed.endsWith("\\")) {
      current += `${trimmed.slice(0, -1).trimEnd()} `;
      continue;
    }
    lines.push((current + trimmed).trim());
    current = "";
  }
  if (current.trim()) lines.push(current.trim());
  return lines;
}

function parseInstruction(line: string): Instruction {
  const match = /^(\w+)\s+([\s\S]*)$/.exec(line);
  if (!match) throw new Error(`cannot parse Dockerfile line: ${line}`);
  const keyword = match[1]!.toUpperCase();
  if (!KNOWN.has(keyword)) throw new Error(`Dockerfile instruction ${keyword} is not handled by test/support/dockerfile.ts`);
  let rest = match[2]!;
  const flags: Record<string, string> = {};
  // HEALTHCHECK's options precede its own CMD; the others' flags precede their arguments.
  for (let flag = /^--([\w-]+)=(\S+)\s+/.exec(rest); flag; flag = /^--([\w-]+)=(\S+)\s+/.exec(rest)) {
    flags[flag[1]!] = flag[2]!;
    rest = rest.slice(flag[0].length);
  }
  if (keyword === "HEALTHCHECK") {
    const cmd = /^CMD\s+([\s\S]*)$/.exec(rest);
    if (!cmd) throw new Error(`HEALTHCHECK without CMD: ${line}`);
    rest = cmd[1]!;
  }
  const exec = rest.startsWith("[");
  const args = exec ? (JSON.parse(rest) as string[]) : rest.split(/\s+/).filter(Boolean);
  return { keyword, flags, args, raw: rest, exec };
}

export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const line of logicalLines(text)) {
    const instruction = parseInstruction(line);
    if (instruction.keyword === "FROM") {
      const [image, as, name] = instruction.args;
      if (!image || (as && as.toUpperCase() !== "AS")) throw new Error(`cannot parse FROM: ${line}`);
      stages.push({ image, name: name ?? String(stages.length), instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`${instruction.keyword} before the first FROM`);
    stage.instructions.push(instruction);
  }
  return stages;
}

/** `ENV A=1 B="two words"` (and the legacy `ENV A 1`). */
export function parseEnv(instruction: Instruction): Record<string, string> {
  const out: Record<string, string> = {};
  const text = instruction.raw;
  if (!text.includes("=")) {
    const [key, ...value] = instruction.args;
    out[key!] = value.join(" ");
    return out;
  }
  for (const m of text.matchAll(/(\w+)=("([^"]*)"|\S*)/g)) out[m[1]!] = m[3] ?? m[2]!;
  return out;
}
