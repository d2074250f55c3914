import { unwrap } from "../../client/client.js";
import type { components } from "../../client/api-types.js";
import { integerOption, keyValues, listOption, stringOption, type CommandSpec } from "../command.js";
import { loadContentFile } from "../content-file.js";
import { UsageError } from "../errors.js";
import { shortDigest } from "../render/format.js";
import { publishIndex } from "./publish-index.js";

type Kind = components["schemas"]["Kind"];
const KINDS: readonly Kind[] = ["prompt", "contract", "model", "index", "tools", "config", "evalset"];

function isKind(value: string): value is Kind {
  return (KINDS as readonly string[]).includes(value);
}

export const publish: CommandSpec = {
  name: "publish",
  summary: "Publish an artifact version from a file, or an index from a directory",
  args: ["kind", "name"],
  options: {
    file: { type: "string", value: "path", description: "The content: .json/.yaml as is; .md/.txt becomes a prompt template" },
    dir: { type: "string", value: "dir", description: "index only: publish every file under dir (uploads only missing blobs)" },
    annotation: { type: "string", multiple: true, value: "k=v", description: "Annotate the version (repeatable)" },
    metadata: { type: "string", multiple: true, value: "k=v", description: "index only: manifest metadata (repeatable)" },
    concurrency: { type: "string", value: "n", description: "index only: blobs uploaded at once (default 4)" },
    "allow-empty": { type: "boolean", description: "index only: publish an index of 0 files when the directory has none (refused otherwise)" },
  },
  description: [
    `<kind> is one of ${KINDS.join(", ")}. Publishing content identical to an existing version`,
    "returns that version (nothing new is created), so re-running a pipeline is safe.",
    "A prompt from .md/.txt is {\"template\": <text>, \"variables\": [its {{placeholders}}]}.",
  ].join("\n"),
  examples: [
    "pinset publish prompt answer --file prompts/answer.md --annotation git=$GIT_COMMIT",
    "pinset publish model chat --file models/chat.yaml",
    "pinset publish index kb --dir ./kb-snapshot --metadata source=confluence",
  ],
  async run(ctx, { args, values }) {
    const kind = args.kind!;
    const name = args.name!;
    if (!isKind(kind)) throw new UsageError(`unknown kind "${kind}": use one of ${KINDS.join(", ")}`, "publish");
    const file = stringOption(values, "file");
    const dir = stringOption(values, "dir");
    const annotations = keyValues(listOption(values, "annotation"), "annotation", "publish");
    const metadataPairs = listOption(values, "metadata");
    const concurrency = integerOption(values, "concurrency", "publish", { min: 1, max: 64 });

    if (dir !== undefined) {
      if (kind !== "index") throw new UsageError("--dir publishes an index: use 'pinset publish index <name> --dir <dir>'", "publish");
      if (file !== undefined) throw new UsageError("give either --file or --dir, not both", "publish");
      const metadata = keyValues(metadataPairs, "metadata", "publish");
      return publishIndex(ctx, { name, dir, metadata, annotations, concurrency: concurrency ?? 4, allowEmpty: values["allow-empty"] === true });
    }
    if (values["allow-empty"] === true) throw new UsageError("--allow-empty goes with --dir", "publish");
    if (file === undefined) throw new UsageError(kind === "index" ? "missing --dir <dir> (or --file <manifest>)" : "missing --file <path>", "publish");
    if (metadataPairs.length > 0) throw new UsageError("--metadata goes with --dir", "publish");
    if (concurrency !== undefined) throw new UsageError("--concurrency goes with --dir", "publish");

    const content = await loadContentFile(kind, file, "publish");
    const result = await ctx.client.POST("/v1/projects/{project}/artifacts/{kind}/{name}", {
      params: { path: { project: ctx.project, kind, name } },
      // The registry validates the content per kind; the CLI passes the file through as is.
      body: { content: content as components["schemas"]["ArtifactContent"], ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
    });
    const artifact = await unwrap(result);
    ctx.output(artifact, (a) => {
      const ref = `${a.kind}/${a.name} version ${a.version} (${shortDigest(a.digest)})`;
      return result.response.status === 201 ? `Published ${ref}` : `Unchanged: ${ref} has this content`;
    });
  },
};
