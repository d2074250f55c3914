/**
 * `pinset/client`: the typed SDK. `createClient` is openapi-fetch over the types generated from
 * `openapi/pinset.yaml`, so every path, parameter and answer is checked by the compiler.
 * `createResolver` keeps one environment's bundle current for a running service (docs/sdk.md).
 */
export { createClient, unwrap, type ClientOptions, type FetchResult, type PinsetClient } from "./client.js";
export { PinsetApiError, RegistryUnreachableError, type Problem, type ProblemFieldError } from "./errors.js";
export { blobExists, hashFile, uploadBlobFile, type FileDigest, type UploadFileOptions } from "./blobs.js";
export { createResolver, Resolver, ResolverStartError, type ChangeListener, type ErrorListener, type ResolverLogger, type ResolverOptions, type ResolverSnapshot } from "./resolver.js";
export type { components, operations, paths } from "./api-types.js";

import type { components } from "./api-types.js";

type Schemas = components["schemas"];
export type ArtifactVersion = Schemas["ArtifactVersion"];
export type VersionSet = Schemas["VersionSet"];
export type VersionSetDiff = Schemas["VersionSetDiff"];
export type Bundle = Schemas["Bundle"];
export type Environment = Schemas["Environment"];
export type HistoryEntry = Schemas["HistoryEntry"];
