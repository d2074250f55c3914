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
import type { AuditRecord, AuditStore } from "../audit/ports.js";
import { presentAuditEntry } from "../audit/service.js";
import { reportKey, reportPrefix } from "../blobs/keys.js";
import type { BlobStore } from "../blobs/ports.js";
import { sha256Hex } from "../core/canonical-json.js";
import { AppError, NotFoundError } from "../core/errors.js";
import { presentHistory } from "../environments/service.js";
import type { Actor } from "../core/actor.js";
import type { Transactions } from "../core/transaction.js";
import type { PooledSide } from "./analysis/pool.js";
import { evaluate, type EvaluationSources } from "./evaluate.js";
import type { EvidenceRecord, EvidenceStore, EvidenceTrigger, ProjectDirectory, RolloutEnvironments, RolloutRecord, RolloutStore, VersionSetEvidenceSource } from "./ports.js";
import { presentObservation, presentRollout, rolloutTarget } from "./view.js";

export type { EvidenceTrigger, VersionSetEvidenceSource };

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

export interface EvidenceDeps extends EvaluationSources {
  transactions: Transactions;
  rollouts: RolloutStore;
  evidence: EvidenceStore;
  environments: RolloutEnvironments;
  projects: ProjectDirectory;
  /** Appends the pack's entry, and reads the rollout's entries for audit.json. */
  audit: AuditStore;
  blobStore: BlobStore;
  versionSets: VersionSetEvidenceSource;
  /** The incident a rollout opened, named in its packs' manifest (absent when incidents are not wired). */
  incidentOf?: ((project: string, rollout: string) => Promise<string | null>) | undefined;
  now?: () => Date;
}

/** Audit entries read per page while gathering a rollout's entries. */
const AUDIT_PAGE = 500;

export class EvidenceService {
  constructor(private readonly deps: EvidenceDeps) {}

  async write(actor: Actor, rollout: RolloutRecord, trigger: EvidenceTrigger): Promise<EvidenceWritten> {
    const { blobStore } = this.deps;
    const { project } = rollout;
    const n = await this.deps.rollouts.reserveEvidence(project, rollout.id);
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
      incident: (await this.deps.incidentOf?.(project, rollout.id)) ?? null,
      trigger,
      location,
      created_at: now.toISOString(),
      created_by: actor.name,
      trace_id: actor.traceId,
      files: written,
    };
    const manifestFile = await put(MANIFEST, encode(manifest));
    const row = await this.deps.transactions.run(async (tx) => {
      const inserted = await this.deps.evidence.insert(
        tx,
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
      await this.deps.audit.record(tx, actor, {
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
    const row = await this.deps.evidence.find(project, id);
    if (!row || !visible(row.environment)) {
      await this.deps.projects.require(project);
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

  private presentWritten(row: EvidenceRecord): EvidenceWritten {
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
  private async gather(rollout: RolloutRecord): Promise<Array<[string, unknown]>> {
    const { rollouts, versionSets } = this.deps;
    const { project } = rollout;
    const current = (await rollouts.find(project, rollout.id)) ?? rollout;
    const evaluation = await evaluate(this.deps, current);
    const [stable, candidate, diff] = await Promise.all([
      versionSets.get(project, current.stable),
      versionSets.get(project, current.candidate),
      versionSets.diff(project, current.stable, current.candidate),
    ]);
    const observations = (await this.deps.observations.ofRollout(project, current.id)).map(presentObservation).reverse();
    const history = (await this.deps.environments.historyOf(current)).map(presentHistory);
    const audit = (await this.auditOf(current)).map(presentAuditEntry);
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
      ["rollout.json", { project, ...presentRollout(current, (await this.deps.evidence.ofRollout(project, current.id)).map((e) => e.id)) }],
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

  /**
   * The audit entries of one rollout, oldest first: those on its target, and those naming it in
   * `after.rollout` — the freeze its stop caused and incidents (both under its environment) and
   * its evidence packs (`evidence/…`). None is older than the rollout, which bounds the reads.
   */
  private async auditOf(rollout: RolloutRecord): Promise<AuditRecord[]> {
    const target = rolloutTarget(rollout);
    const mine = (row: AuditRecord) => row.target === target || (row.after as { rollout?: unknown } | null)?.rollout === rollout.id;
    const found = new Map<number, AuditRecord>();
    const queries = [{ target: `environment/${rollout.environment}*` }, { action: "evidence.write" }];
    for (const query of queries) {
      let before: number | undefined;
      for (;;) {
        const page = await this.deps.audit.list({ project: rollout.project, since: rollout.created_at, limit: AUDIT_PAGE, ...query, ...(before !== undefined ? { before } : {}) });
        for (const row of page) if (mine(row)) found.set(row.seq, row);
        if (page.length < AUDIT_PAGE) break;
        before = page.at(-1)!.seq;
      }
    }
    return [...found.values()].sort((a, b) => a.seq - b.seq);
  }
}
