import { describeRetired, retiredSetError, type RetiredPin } from "../artifacts/retired.js";
import type { Actor } from "../core/actor.js";
import { compareCodeUnits } from "../core/compare.js";
import { ConflictError, GoneError, NotFoundError, UnprocessableError, type FieldError } from "../core/errors.js";
import { decodeCursor, toPage, type Page } from "../core/page.js";
import type { Transactions, Tx } from "../core/transaction.js";
import type { ProjectDirectory } from "../projects/ports.js";
import { LruCache } from "./bundle-cache.js";
import { diffComponentContent, diffSlotsWith, type ComponentDiff, type ContentDiffer } from "./diff/index.js";
import { versionSetId } from "./identity.js";
import { retiredPinsOf } from "./liveness.js";
import type {
  CodeRef,
  PinnableArtifacts,
  PinnedComponent,
  SetExistence,
  SetLiveness,
  VersionSetAudit,
  VersionSetOutbox,
  VersionSetRecord,
  VersionSetStore,
} from "./ports.js";
import { formatReference, parseComponentReference, type ComponentReference } from "./references.js";
import { indexFiles, present, type BundleComponent, type BundleView, type VersionSetDiff, type VersionSetView } from "./views.js";

export type { CodeRef, PinnedComponent } from "./ports.js";
export type { ComponentDiff } from "./diff/index.js";
export type { BundleComponent, BundleFile, BundleView, VersionSetDiff, VersionSetView } from "./views.js";
export { blobUrl } from "./views.js";

export interface CreateVersionSetInput {
  /** slot → `<kind>/<name>@<ref>`; slot names and the slot count are checked by the route. */
  components: Record<string, string>;
  code?: CodeRef;
  description?: string;
}

interface CachedBundle {
  view: BundleView;
  json: string;
  /** `json` encoded once: answers share these bytes instead of encoding (copying) per request. */
  bytes: Buffer;
  etag: string;
}

const DEFAULT_BUNDLE_CACHE_ENTRIES = 1000;
/** Diffs kept: an answer is a few KB to a few hundred (contents diffed line by line). */
const DEFAULT_DIFF_CACHE_ENTRIES = 500;

/** A diff as clients get it, and its JSON encoded once. */
interface CachedDiff {
  view: VersionSetDiff;
  json: string;
}

/** Project names cannot contain "/", so the key is unambiguous. */
const bundleKey = (project: string, id: string) => `${project}/${id}`;
/** Artifact reads in flight per request: bounds the memory a 256-slot set of large contents takes. */
const READ_CONCURRENCY = 8;

/** Runs `fn` over `items` with at most `limit` calls in flight, keeping the input order. */
async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += limit) results.push(...(await Promise.all(items.slice(i, i + limit).map(fn))));
  return results;
}

function deepFreeze<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const next = stack.pop();
    if (typeof next === "object" && next !== null && !Object.isFrozen(next)) {
      Object.freeze(next);
      stack.push(...Object.values(next));
    }
  }
  return value;
}

export interface VersionSetServiceDeps {
  store: VersionSetStore;
  artifacts: PinnableArtifacts;
  projects: ProjectDirectory;
  audit: VersionSetAudit;
  /** Where the `version_set.created` webhook event goes, in the create transaction. */
  outbox: VersionSetOutbox;
  transactions: Transactions;
  bundleCacheEntries?: number;
  diffCacheEntries?: number;
  /** Computes changed slots' details; the app's sends schema comparisons to a worker thread. */
  differ?: ContentDiffer;
}

export class VersionSetService implements SetLiveness, SetExistence {
  private readonly store: VersionSetStore;
  private readonly bundles: LruCache<CachedBundle>;
  /**
   * Diffs by project and both ids. Sets are immutable, so a diff's answer never changes while
   * both sets exist (checked on every request); gc's retirement clears it with the bundles.
   */
  private readonly diffs: LruCache<CachedDiff>;

  constructor(private readonly deps: VersionSetServiceDeps) {
    this.store = deps.store;
    this.bundles = new LruCache(deps.bundleCacheEntries ?? DEFAULT_BUNDLE_CACHE_ENTRIES);
    this.diffs = new LruCache(deps.diffCacheEntries ?? DEFAULT_DIFF_CACHE_ENTRIES);
  }

  /**
   * Pins every reference and stores the set — or returns the stored set with the same id
   * (`created: false`), also when an identical create races this one. The description is not
   * part of the id, so a re-create with another description returns the stored one unchanged.
   */
  async create(actor: Actor, project: string, input: CreateVersionSetInput): Promise<{ created: boolean; set: VersionSetView }> {
    await this.deps.projects.require(project);
    const components = await this.pin(project, input.components);
    const code = input.code ? { repo: input.code.repo, commit: input.code.commit } : null;
    const id = versionSetId(components, code);

    const existing = await this.store.find(project, id);
    if (existing) return { created: false, set: present(existing) };
    try {
      const set = await this.deps.transactions.run(async (tx) => {
        const row = await this.store.insert(tx, { project, id, components, code, description: input.description ?? null, createdBy: actor.name });
        const view = present(row);
        await this.deps.audit.record(tx, actor, { project, action: "version_set.create", target: `version_set/${id}`, after: { components, code, description: view.description } });
        await this.deps.outbox.enqueue(tx, { project, event: "version_set.created", data: view });
        return view;
      });
      return { created: true, set };
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      // A concurrent create of the same pinned set committed first: its row is ours too.
      const winner = await this.store.find(project, id);
      if (!winner) throw err;
      return { created: false, set: present(winner) };
    }
  }

  /**
   * Resolves every reference against the project's own artifacts. All failing slots are
   * reported at once (422), malformed and unresolvable alike, each under `components.<slot>`.
   */
  private async pin(project: string, references: Record<string, string>): Promise<Record<string, PinnedComponent>> {
    const errors: FieldError[] = [];
    const parsed: Array<{ slot: string; reference: ComponentReference }> = [];
    for (const slot of Object.keys(references).sort(compareCodeUnits)) {
      const result = parseComponentReference(references[slot]!);
      if (result.ok) parsed.push({ slot, reference: result.reference });
      else errors.push({ path: `components.${slot}`, message: result.message });
    }
    const rows = await mapLimited(parsed, READ_CONCURRENCY, ({ reference }) =>
      this.deps.artifacts.find({ project, kind: reference.kind, name: reference.name }, reference.ref),
    );
    const pinned: Record<string, PinnedComponent> = {};
    const retired: RetiredPin[] = [];
    parsed.forEach(({ slot, reference }, i) => {
      const row = rows[i];
      if (row?.retired_at) retired.push({ set: "(new)", kind: row.kind, name: row.name, version: row.version });
      if (row) pinned[slot] = { kind: reference.kind, name: row.name, version: row.version, digest: row.digest };
      else errors.push({ path: `components.${slot}`, message: `${formatReference(reference)} does not resolve: no such artifact version in project ${project}` });
    });
    if (errors.length > 0) {
      errors.sort((a, b) => compareCodeUnits(a.path, b.path));
      throw new UnprocessableError(`${errors.length} component reference(s) cannot be pinned: ${errors.map((e) => e.path).join(", ")}`, errors);
    }
    if (retired.length > 0) {
      throw new GoneError(`${describeRetired(retired)} of project ${project} was retired by garbage collection (outside the retention settings); a set cannot pin it`);
    }
    return pinned;
  }

  /** The set, or undefined; for callers that established the project already (no project check). */
  async find(project: string, id: string): Promise<VersionSetView | undefined> {
    const row = await this.store.find(project, id);
    return row ? present(row) : undefined;
  }

  /** The set (404 for an unknown project or set). */
  async get(project: string, id: string): Promise<VersionSetView> {
    await this.deps.projects.require(project);
    return this.load(project, id);
  }

  private async load(project: string, id: string): Promise<VersionSetView> {
    const set = await this.find(project, id);
    if (!set) throw new NotFoundError(`Version set ${id} not found in project ${project}`);
    return set;
  }

  async list(project: string, page: { limit: number; cursor?: string }): Promise<Page<VersionSetView>> {
    await this.deps.projects.require(project);
    const rows = await this.store.list(project, { before: decodeCursor(page.cursor), limit: page.limit + 1 });
    return toPage(rows, page.limit, (r) => r.seq, present);
  }

  /** The set with every component's content inline; built once per set and cached (frozen: do not mutate). */
  async bundle(project: string, id: string): Promise<BundleView> {
    return (await this.cachedBundle(project, id)).view;
  }

  /**
   * The bundle serialized once, with its etag `"<id>"`: resolve serves these bytes as they are.
   * No project check: resolve reached the set through its environment (the hot path reads
   * nothing else); `readBundle` is the same for a client naming the project.
   */
  async bundleBytes(project: string, id: string): Promise<{ json: string; bytes: Buffer; etag: string }> {
    const { json, bytes, etag } = await this.cachedBundle(project, id);
    return { json, bytes, etag };
  }

  /** `bundleBytes`' bytes when the bundle cache holds them (undefined: call `bundleBytes`). */
  peekBundleBytes(project: string, id: string): Buffer | undefined {
    return this.bundles.get(bundleKey(project, id))?.bytes;
  }

  /** `GET …/version-sets/{id}/bundle`: bundleBytes, 404 for an unknown project. */
  async readBundle(project: string, id: string): Promise<{ json: string; bytes: Buffer; etag: string }> {
    await this.deps.projects.require(project);
    return this.bundleBytes(project, id);
  }

  async assertSetsLive(tx: Tx, project: string, sets: readonly string[]): Promise<void> {
    const retired = await retiredPinsOf(tx, { sets: this.store, artifacts: this.deps.artifacts }, project, sets);
    if (retired.length > 0) throw retiredSetError(project, retired);
  }

  versionSetExists(tx: Tx, project: string, id: string): Promise<boolean> {
    return this.store.exists(project, id, tx);
  }

  /**
   * Slot-by-slot comparison of two sets of the project (404 naming every unknown one). The
   * contents come from the bundle cache, so diffing against a deployed set reads nothing new;
   * the answer is computed once per pair and kept (frozen: do not mutate).
   */
  async diff(project: string, fromId: string, toId: string): Promise<VersionSetDiff> {
    return (await this.cachedDiff(project, fromId, toId)).view;
  }

  /** `diff`'s answer as JSON, encoded once per pair: what `GET …/diff` sends. */
  async diffJson(project: string, fromId: string, toId: string): Promise<string> {
    return (await this.cachedDiff(project, fromId, toId)).json;
  }

  /**
   * The pair's diff when memory keeps it (its JSON as `GET …/diff` sends it), or undefined: no
   * read, and no check that the sets still exist — `bothExist` is the read that confirms it.
   */
  knownDiff(project: string, fromId: string, toId: string): { readonly json: string } | undefined {
    return this.diffs.get(`${bundleKey(project, fromId)}/${toId}`);
  }

  /** Whether both sets exist in the project: the read every diff answer is sent after. */
  async bothExist(project: string, fromId: string, toId: string): Promise<boolean> {
    const known = await this.store.existingIds(project, [fromId, toId]);
    return known.includes(fromId) && known.includes(toId);
  }

  private async cachedDiff(project: string, fromId: string, toId: string): Promise<CachedDiff> {
    await this.deps.projects.require(project);
    // Asked every time, also when the answer is kept: a set must exist to be diffed.
    const known = new Set(await this.store.existingIds(project, [fromId, toId]));
    const missing = [...new Set([fromId, toId])].filter((id) => !known.has(id));
    if (missing.length > 0) throw new NotFoundError(`Version set(s) ${missing.join(", ")} not found in project ${project}`);
    return this.diffs.getOrLoad(`${bundleKey(project, fromId)}/${toId}`, async () => {
      const [from, to] = await Promise.all([this.bundle(project, fromId), this.bundle(project, toId)]);
      const view = deepFreeze({ from: fromId, to: toId, components: await diffSlotsWith(from.components, to.components, this.deps.differ ?? diffComponentContent) });
      return { view, json: JSON.stringify(view) };
    });
  }

  /** After garbage collection retired versions: cached bundles (and the diffs built from them) may pin them (they must answer 410 now). */
  forgetBundles(): void {
    this.bundles.clear();
    this.diffs.clear();
  }

  private cachedBundle(project: string, id: string): Promise<CachedBundle> {
    return this.bundles.getOrLoad(bundleKey(project, id), () => this.buildBundle(project, id));
  }

  private async buildBundle(project: string, id: string): Promise<CachedBundle> {
    const set = await this.load(project, id);
    const slots = Object.keys(set.components);
    const retired: RetiredPin[] = [];
    const built = await mapLimited(slots, READ_CONCURRENCY, async (slot): Promise<BundleComponent> => {
      const pinned = set.components[slot]!;
      const row = await this.deps.artifacts.findByDigest({ project, kind: pinned.kind, name: pinned.name }, pinned.digest);
      // Artifacts are immutable and never deleted, so a pinned version always exists.
      if (!row) throw new Error(`version set ${id} pins ${pinned.kind}/${pinned.name}@${pinned.digest}, which is missing`);
      if (row.retired_at) retired.push({ set: id, kind: row.kind, name: row.name, version: row.version });
      const content: unknown = JSON.parse(row.content);
      const component: BundleComponent = { ...pinned, content };
      if (pinned.kind === "index") component.files = indexFiles(project, content);
      return component;
    });
    if (retired.length > 0) throw retiredSetError(project, retired);
    const components: Record<string, BundleComponent> = {};
    slots.forEach((slot, i) => (components[slot] = built[i]!));
    const view = deepFreeze<BundleView>({ ...set, components });
    const json = JSON.stringify(view);
    return { view, json, bytes: Buffer.from(json, "utf8"), etag: `"${id}"` };
  }
}
