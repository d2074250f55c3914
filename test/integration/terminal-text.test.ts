/**
 * Finding 7 of the hardening issue: text that reaches terminals. Control characters, bidi
 * overrides/isolates/marks and zero-width characters are refused in names (projects,
 * environments, artifacts, slots: one ASCII name rule), index file paths, tool names and tool
 * permissions, naming the path; nothing is written.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { content, sha256Digest } from "../support/builders.js";
import { tableCounts } from "../support/row-counts.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";

/** One of each family the issue names, plus the sequence it saw printed by `pinset diff`. */
const HOSTILE = [
  ["ESC sequences", "a\u001b]0;owned\u0007\u001b[2K\u001b[1Ab"],
  ["BEL", "a\u0007b"],
  ["DEL", "a\u007fb"],
  ["C1 CSI", "a\u009b2Kb"],
  ["NEL", "a\u0085b"],
  ["right-to-left override", "a\u202eb"],
  ["left-to-right embedding", "a\u202ab"],
  ["first-strong isolate", "a\u2068b"],
  ["pop directional isolate", "a\u2069b"],
  ["right-to-left mark", "a\u200fb"],
  ["zero-width space", "a\u200bb"],
  ["zero-width joiner", "a\u200db"],
  ["word joiner", "a\u2060b"],
  ["byte order mark", "a\ufeffb"],
  ["line separator", "a\u2028b"],
] as const;

describe.each(backends())("terminal-unsafe text on $name", (backend) => {
  let t: TestApp;
  let digest: string;
  beforeAll(async () => {
    t = await startTestApp(backend);
    expect((await t.request("PUT", "/v1/projects/tty")).status).toBe(201);
    digest = sha256Digest("bytes");
    expect((await t.request("PUT", `/v1/projects/tty/blobs/${digest}`, { raw: "bytes", headers: { "content-type": "application/octet-stream" } })).status).toBe(201);
  });
  afterAll(async () => t?.close());

  async function refused(res: Response, status: number, path: string): Promise<string> {
    expect(res.status).toBe(status);
    const body = (await res.json()) as { errors: Array<{ path: string; message: string }> };
    const error = body.errors.find((e) => e.path === path);
    expect(error, JSON.stringify(body.errors)).toBeDefined();
    return error!.message;
  }

  it("refuses each family in an index file path with 422 naming the path and the character", async () => {
    const before = await tableCounts(t);
    for (const [what, text] of HOSTILE) {
      const files = [{ path: "ok.md", digest, size: 5 }, { path: `docs/${text}.md`, digest, size: 5 }];
      const res = await t.request("POST", "/v1/projects/tty/artifacts/index/kb", { body: { content: { files } } });
      const message = await refused(res, 422, "content.files[1].path");
      expect(message, what).toMatch(/^must not contain control, bidirectional or zero-width characters \(U\+[0-9A-F]{4} at character 7\)$/);
    }
    expect(await tableCounts(t)).toEqual(before);
    // Ordinary non-ASCII names are fine.
    expect((await t.request("POST", "/v1/projects/tty/artifacts/index/kb", { body: { content: { files: [{ path: "docs/Äpfel 😀.md", digest, size: 5 }] } } })).status).toBe(201);
  });

  it("refuses them in tool names and tool permissions with 422 naming the path", async () => {
    const before = await tableCounts(t);
    for (const [, text] of HOSTILE) {
      const named = await t.request("POST", "/v1/projects/tty/artifacts/tools/t", { body: { content: { tools: [{ name: `x${text}`, description: "d", input_schema: { type: "object" } }] } } });
      await refused(named, 422, "content.tools[0].name");
      const permitted = await t.request("POST", "/v1/projects/tty/artifacts/tools/t", { body: { content: { tools: [{ name: "x", description: "d", input_schema: { type: "object" }, permissions: ["ok", text] }] } } });
      expect(await refused(permitted, 422, "content.tools[0].permissions[1]")).toMatch(/^must not contain control/);
    }
    expect(await tableCounts(t)).toEqual(before);
  });

  it("refuses them in project, environment, artifact and slot names, naming the path, writing nothing", async () => {
    const before = await tableCounts(t);
    expect((await t.request("POST", "/v1/projects/tty/artifacts/prompt/p", { body: { content: content.prompt() } })).status).toBe(201);
    const after = await tableCounts(t);
    for (const [what, text] of HOSTILE) {
      // Names were already ASCII-only ([a-z0-9._-]); these stay refused, with 400 like any bad name.
      const name = encodeURIComponent(`n${text}`.toLowerCase());
      await refused(await t.request("PUT", `/v1/projects/${name}`), 400, "params.project");
      await refused(await t.request("PUT", `/v1/projects/tty/environments/${name}`, { body: {} }), 400, "params.env");
      await refused(await t.request("POST", `/v1/projects/tty/artifacts/prompt/${name}`, { body: { content: content.prompt() } }), 400, "params.name");
      const slot = await t.request("POST", "/v1/projects/tty/version-sets", { body: { components: { [`s${text}`]: "prompt/p@1" } } });
      expect(slot.status, what).toBe(400);
      expect(JSON.stringify(await slot.json())).toMatch(/body\.components/);
    }
    expect(await tableCounts(t)).toEqual(after);
    expect(before).not.toEqual(after);
  });
});
