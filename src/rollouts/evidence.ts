/**
 * Evidence packs: what a reviewer needs to judge a rollout, frozen in the blob store.
 *
 * Layout (see src/blobs/keys.ts): `reports/YYYY-MM-DD/<pack id>/<file>`, the date being the
 * day the pack was written (UTC). Pack ids: the first pack of a rollout is named after the
 * rollout (`ro_…`), the n-th after that `ro_…-n`. The number is reserved in the database
 * (rollouts.evidence_count, one atomic UPDATE) before any byte is written, so two packs never
 * share a location and a written pack is never overwritten: immutable once written.
 *
 * Files (pretty-printed JSON): rollout.json, stable.json, candidate.json (the two version
 * sets), diff.json, observations.json (oldest first), decision.json (policy, signal, action,
 * reasons — each with its method, interval, confidence, samples and summary — the step with its
 * sample counts, the schedule's next action while running, and per side the values compared
 * with pooling's notes), history.json and audit.json (the rollout's entries),
 * trace-ids.json (the observations' sample trace ids per side), then manifest.json listing
 * every other file with its sha256 digest and size. Write order is the integrity rule: files,
 * then the manifest, then the database row; a pack is listed only when it is complete.
 */
import { Readable } from "node:stream";
import type { Kysely } from "kysely";
import { presentAuditEntry } from "../audit/service.js";
import { recordAudit } from "../audit/store.js";
import { reportKey, reportPrefix } from "../blobs/keys.js";
import type { BlobStore } from "../blobs/ports.js";
import { sha256Hex } from "../core/canonical-json.js";
import type { Database } from "../db/schema.js";
import { AppError, NotFoundError } from "../core/errors.js";
import { presentHistory } from "../environments/service.js";
import type { Actor } from "../core/actor.js";
import type { PooledSide } from "./analysis/pool.js";
import { evaluate } from "./evaluate.js";
import type { EvidenceRow, RolloutRow, RolloutStore } from "./store.js";
import { presentObservation, presentRollout, rolloutTarget } from "./view.js";

export type EvidenceTrigger = EvidenceRow["trigger"];

/** What evidence needs from version sets (VersionSetService satisfies it). */
export interface VersionSetEvidenceSource {
  get(project: string, id: string): Promise<unknown>;
  diff(project: string, from: string, to: string): Promise<unknown>;
}

export interface EvidenceFile {
  name: string;
  digest: string;
  size: number;
}

export interface EvidenceWritten {
  id: string;
  rollout_id: string;
  trigger: EvidenceTrigger;
  location: string;
  /** File names relative to `location`, manifest.json last. */
  files: string[];
  created_at: string;
}

export interface EvidencePackView extends EvidenceWritten {
  environment: string;
  created_by: string | null;
  /** The parsed manifest.json (every other file with its digest and size). */
  manifest: unknown;
  /** The sha256 of manifest.json as stored (recorded in the database when the pack was written). */
  manifest_digest: string;
  /** Every file but the manifest, parsed, after its bytes were checked against the manifest. */
  contents: Record<string, unknown>;
}

const MANIFEST = "manifest.json";

const encode = (value: unknown): Buffer => Buffer.from(`${JSON.stringify(value, null, 2)}\n`, "utf8");


async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** A stored file that no longer matches the digest recorded for it: never served as evidence. */
class EvidenceIntegrityError extends AppError {
  constructor(detail: string) {
    super({ code: "internal", status: 500, title: "Evidence integrity failure", detail });
  }
}

export class EvidenceService {
  /** Set at composition: the incident a rollout opened, named in its packs' manifest. */
  incidentOf: ((project: string, rollout: string) => Promise<string | null>) | undefined;

  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      store: RolloutStore;
      blobStore: BlobStore;
      versionSets: VersionSetEvidenceSource;
      now?: () => Date;
    },
  ) {}

  async write(actor: Actor, rollout: RolloutRow, trigger: EvidenceTrigger): Promise<EvidenceWritten> {
    const { store, blobStore } = this.deps;
    const { project } = rollout;
    const n = await store.reserveEvidence(project, rollout.id);
    const id = n === 1 ? rollout.id : `${rollout.id}-${n}`;
    const now = this.deps.now?.() ?? new Date();

    const files = await this.gather(rollout);
    const written: EvidenceFile[] = [];
    const put = async (name: string, bytes: Buffer): Promise<EvidenceFile> => {
      const digest = `sha256:${sha256Hex(bytes)}`;
      const key = reportKey({ date: now, changeId: id, file: name });
      const result = await blobStore.put(key, Readable.from([bytes]), { digest });
      return { name, digest: result.digest, size: result.size };
    };
    if (await blobStore.head(reportKey({ date: now, changeId: id, file: MANIFEST }))) {
      throw new Error(`evidence pack ${id} already exists in the blob store; packs are never overwritten`);
    }
    for (const [name, value] of files) written.push(await put(name, encode(value)));

    const location = reportPrefix(now, id);
    const manifest = {
      id,
      project,
      environment: rollout.environment,
      rollout: rollout.id,
      incident: (await this.incidentOf?.(project, rollout.id)) ?? null,
      trigger,
      location,
      created_at: now.toISOString(),
      created_by: actor.name,
      trace_id: actor.traceId,
      files: written,
    };
    const manifestFile = await put(MANIFEST, encode(manifest));
    const row = await this.deps.db.transaction().execute(async (trx) => {
      const inserted = await store.insertEvidence(
        trx,
        { project, environment: rollout.environment },
        {
          id,
          rolloutId: rollout.id,
          trigger,
          location,
          files: [...written, manifestFile],
          manifestDigest: manifestFile.digest,
          createdBy: actor.name,
          traceId: actor.traceId,
        },
      );
      await recordAudit(trx, actor, {
        project,
        action: "evidence.write",
        target: `evidence/${id}`,
        after: { rollout: rollout.id, environment: rollout.environment, trigger, location, manifest_digest: manifestFile.digest },
      });
      return inserted;
    });
    return this.presentWritten(row);
  }

  /** The pack with every file inline, each verified against the manifest (another project's, or an invisible environment's → 404). */
  async get(project: string, id: string, visible: (environment: string) => boolean = () => true): Promise<EvidencePackView> {
    const row = await this.deps.store.findEvidence(project, id);
    if (!row || !visible(row.environment)) {
      if (!(await this.deps.store.projectExists(project))) throw new NotFoundError(`Project ${project} not found`);
      throw new NotFoundError(`Evidence pack ${id} not found in project ${project}`);
    }
    const contents: Record<string, unknown> = {};
    let manifest: unknown = null;
    for (const file of row.files) {
      const stream = await this.deps.blobStore.get(`${row.location}${file.name}`);
      if (!stream) throw new EvidenceIntegrityError(`Evidence file ${row.location}${file.name} is missing from the blob store`);
      const bytes = await readAll(stream);
      const digest = `sha256:${sha256Hex(bytes)}`;
      if (digest !== file.digest || bytes.byteLength !== file.size) {
        throw new EvidenceIntegrityError(`Evidence file ${row.location}${file.name} does not match its recorded digest ${file.digest}`);
      }
      const value: unknown = JSON.parse(bytes.toString("utf8"));
      if (file.name === MANIFEST) manifest = value;
      else contents[file.name] = value;
    }
    const manifestDigest = row.files.find((f) => f.name === MANIFEST)?.digest ?? row.manifest_digest;
    return { ...this.presentWritten(row), environment: row.environment, created_by: row.created_by, manifest, manifest_digest: manifestDigest, contents };
  }

  private presentWritten(row: EvidenceRow): EvidenceWritten {
    return {
      id: row.id,
      rollout_id: row.rollout_id,
      trigger: row.trigger,
      location: row.location,
      files: row.files.map((f) => f.name),
      created_at: row.created_at.toISOString(),
    };
  }

  /** The pack's files, in order; everything read after the step that triggered it committed. */
  private async gather(rollout: RolloutRow): Promise<Array<[string, unknown]>> {
    const { store, versionSets } = this.deps;
    const { project } = rollout;
    const current = (await store.find(project, rollout.id)) ?? rollout;
    const evaluation = await evaluate(store, current);
    const [stable, candidate, diff] = await Promise.all([
      versionSets.get(project, current.stable),
      versionSets.get(project, current.candidate),
      versionSets.diff(project, current.stable, current.candidate),
    ]);
    const observations = (await store.observationsOf(project, current.id)).map(presentObservation).reverse();
    const history = (await store.historyOf(project, current)).map(presentHistory);
    const audit = (await store.auditOf(project, rolloutTarget(current), current.id)).map(presentAuditEntry);
    // The values compared: pooled samples (the last step's, for an ended rollout), newest plain
    // numbers, summed risk and segment counts; what pooling did, per metric.
    const side = (versionSet: string, pooled: PooledSide) => ({
      version_set: versionSet,
      metrics: pooled.metrics ?? null,
      notes: pooled.notes,
      requests: pooled.requests ?? null,
      segments: pooled.segments,
      observations: pooled.observations,
    });
    const samples = (side: "stable" | "candidate") => [
      ...new Set(observations.filter((o) => o.side === side).flatMap((o) => o.sample_trace_ids)),
    ];
    return [
      ["rollout.json", { project, ...presentRollout(current, await store.evidenceIds(project, current.id)) }],
      ["stable.json", stable],
      ["candidate.json", candidate],
      ["diff.json", diff],
      ["observations.json", observations],
      [
        "decision.json",
        {
          ...evaluation.decision,
          policy: evaluation.policy,
          step: { ...evaluation.analysis.step, started_at: current.step_started_at.toISOString(), samples: evaluation.analysis.samples },
          schedule: current.state === "running" ? evaluation.schedule : null,
          baseline: side(current.stable, evaluation.baseline),
          candidate: side(current.candidate, evaluation.candidate),
        },
      ],
      ["history.json", history],
      ["audit.json", audit],
      ["trace-ids.json", { stable: samples("stable"), candidate: samples("candidate") }],
    ];
  }
}
