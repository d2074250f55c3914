import type { components } from "../client/api-types.js";
import { parseStructured, readLocalFile } from "./content-file.js";
import { InputError } from "./errors.js";

/** The file a repository keeps (`pinset.yaml`) to describe the version set it builds. */
export interface SetManifest {
  project?: string;
  request: components["schemas"]["CreateVersionSetRequest"];
}

const VARIABLE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const KNOWN_KEYS = new Set(["project", "description", "code", "components"]);

/**
 * Replaces `${VAR}` (and `${VAR:-default}`) in every string of the parsed document, so a value
 * can never break the YAML/JSON around it. `$${` stands for a literal `${`. Unset variables
 * are collected, not defaulted to "": a deploy must not pin a commit called "".
 */
export function substituteVariables(value: unknown, env: Record<string, string | undefined>, missing: Map<string, string>, where = ""): unknown {
  if (typeof value === "string") {
    return value.replace(VARIABLE, (match, name: string | undefined, fallback: string | undefined) => {
      if (match === "$${") return "${";
      const found = env[name!];
      if (found !== undefined) return found;
      if (fallback !== undefined) return fallback;
      if (!missing.has(name!)) missing.set(name!, where || "(top level)");
      return match;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteVariables(v, env, missing, `${where}[${i}]`));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteVariables(v, env, missing, where ? `${where}.${k}` : k)]));
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export async function loadSetManifest(file: string, env: Record<string, string | undefined>, command: string): Promise<SetManifest> {
  const parsed = await parseStructured(await readLocalFile(file, command), file, command);
  const missing = new Map<string, string>();
  const doc = substituteVariables(parsed, env, missing);
  if (missing.size > 0) {
    const list = [...missing].map(([name, where]) => `\${${name}} (at ${where})`).join(", ");
    throw new InputError(`${file}: environment variable${missing.size > 1 ? "s" : ""} not set: ${list}`, command);
  }
  const bad = (message: string) => new InputError(`${file}: ${message}`, command);
  if (!isRecord(doc)) throw bad("must be a mapping with project, description, code and components");
  const unknown = Object.keys(doc).filter((k) => !KNOWN_KEYS.has(k));
  if (unknown.length > 0) throw bad(`unknown key${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")} (expected project, description, code, components)`);

  const { project, description, code } = doc;
  if (project !== undefined && typeof project !== "string") throw bad("project must be a string");
  if (description !== undefined && typeof description !== "string") throw bad("description must be a string");
  if (!isRecord(doc.components) || Object.keys(doc.components).length === 0) throw bad("components must map at least one slot to <kind>/<name>@<ref>");
  const slots: Record<string, string> = {};
  for (const [slot, ref] of Object.entries(doc.components)) {
    if (typeof ref !== "string") throw bad(`components.${slot} must be a string like prompt/answer@latest`);
    slots[slot] = ref;
  }
  let codeRef: { repo: string; commit: string } | undefined;
  if (code !== undefined) {
    if (!isRecord(code) || typeof code.repo !== "string" || typeof code.commit !== "string") throw bad("code must have repo and commit strings");
    codeRef = { repo: code.repo, commit: code.commit };
  }
  return {
    ...(project !== undefined ? { project } : {}),
    request: { components: slots, ...(codeRef ? { code: codeRef } : {}), ...(description !== undefined ? { description } : {}) },
  };
}
