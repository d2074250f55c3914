import { readFile } from "node:fs/promises";
import path from "node:path";
import { InputError } from "./errors.js";

/**
 * `{{ name }}` placeholders, as the registry's prompt kind reads them
 * (src/artifacts/kinds/prompt.ts). Kept here so the CLI does not load the server's validators;
 * publishing a prompt would fail with 422 if the two ever disagreed.
 */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

export function extractPlaceholders(text: string): string[] {
  return [...new Set(Array.from(text.matchAll(PLACEHOLDER), (m) => m[1]!))];
}

const TEXT_EXTENSIONS = new Set([".md", ".markdown", ".txt"]);
const JSON_EXTENSIONS = new Set([".json"]);
const YAML_EXTENSIONS = new Set([".yaml", ".yml"]);

export async function readLocalFile(file: string, command: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : code === "EACCES" ? "permission denied" : String(code ?? error);
    throw new InputError(`cannot read ${file}: ${why}`, command);
  }
}

/** Parses a JSON or YAML document; the `yaml` package loads only when a YAML file is given. */
export async function parseStructured(text: string, file: string, command: string): Promise<unknown> {
  const ext = path.extname(file).toLowerCase();
  try {
    if (YAML_EXTENSIONS.has(ext)) {
      const { parse } = await import("yaml");
      return parse(text) as unknown;
    }
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InputError(`${file} is not valid ${YAML_EXTENSIONS.has(ext) ? "YAML" : "JSON"}: ${(error as Error).message}`, command);
  }
}

/**
 * An artifact's `content` from a file: a prompt from text (`.md`, `.txt`) becomes a template
 * with its placeholders declared; `.json`/`.yaml` files are the content as is.
 */
export async function loadContentFile(kind: string, file: string, command: string): Promise<unknown> {
  const ext = path.extname(file).toLowerCase();
  const isText = TEXT_EXTENSIONS.has(ext);
  if (!isText && !JSON_EXTENSIONS.has(ext) && !YAML_EXTENSIONS.has(ext)) {
    throw new InputError(`cannot tell the format of ${file}: use .json, .yaml or .yml${kind === "prompt" ? " (or .md/.txt for a prompt template)" : ""}`, command);
  }
  if (isText && kind !== "prompt") throw new InputError(`a ${kind} is published from .json or .yaml, not ${ext}`, command);
  const text = await readLocalFile(file, command);
  if (isText) return { template: text, variables: extractPlaceholders(text) };
  const content = await parseStructured(text, file, command);
  if (content === null || typeof content !== "object" || Array.isArray(content)) {
    throw new InputError(`${file} must hold an object (the artifact's content)`, command);
  }
  return content;
}
