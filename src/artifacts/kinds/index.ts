import { configKind } from "./config.js";
import { contractKind } from "./contract.js";
import { evalsetKind } from "./evalset.js";
import { indexKind } from "./index-manifest.js";
import { modelKind } from "./model.js";
import { promptKind } from "./prompt.js";
import { toolsKind } from "./tools.js";
import type { ArtifactKind, KindValidator } from "./types.js";

export * from "./types.js";

export const KIND_VALIDATORS: Readonly<Record<ArtifactKind, KindValidator>> = {
  prompt: promptKind,
  contract: contractKind,
  model: modelKind,
  index: indexKind,
  tools: toolsKind,
  config: configKind,
  evalset: evalsetKind,
};
