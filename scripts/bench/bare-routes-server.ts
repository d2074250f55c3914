/**
 * The non-hot routes' baseline (routes.ts): `node:http` and a `pg` pool (10 connections, as the
 * registry's), no framework, no validation library, no logger. For each route it runs the SQL
 * the registry runs for that request in steady state — captured from Postgres' statement log
 * (`log_statement = all`) with the registry serving the bench's requests — and serialises its
 * answer once with JSON.stringify. What the registry does besides (auth scopes, zod, the request
 * log line, metrics, the diff's content detail) is what the ratio prices.
 *
 * Statements the registry answers from memory in steady state are left out here as well: the
 * project row (ProjectService.require), the token (TokenResolver), and the artifact rows behind
 * a diff (read once per digest, then cached), and the diff itself: the registry keeps each pair's
 * answer (sets are immutable) and reads only both ids on every request, so this server does too.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import pg from "pg";

/**
 * Statements go unnamed, as `pg` sends them by default. PINSET_BENCH_BARE_PREPARED=1 names every
 * parameterised one (prepared once per connection, as the registry prepares its statements built
 * once): a stricter baseline for route-cpu.ts comparisons, not the bench's.
 */
class PreparingClient extends pg.Client {
  private static readonly names = new Map<string, string>();
  override query(...args: unknown[]): never {
    const [text, values, callback] = args;
    if (typeof text === "string" && Array.isArray(values)) {
      let name = PreparingClient.names.get(text);
      if (name === undefined) PreparingClient.names.set(text, (name = `bare_${PreparingClient.names.size + 1}`));
      // pg-pool's query passes a callback as the third argument; a client's own, none.
      return (super.query as (config: unknown, cb?: unknown) => never)({ name, text, values }, callback);
    }
    return (super.query as (...a: unknown[]) => never)(...args);
  }
}

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10, ...(process.env.PINSET_BENCH_BARE_PREPARED === "1" ? { Client: PreparingClient } : {}) });
const AUTH = `Bearer ${process.env.TOKEN}`;
const ACTOR = "admin (PINSET_ADMIN_TOKEN)";

interface ArtifactRow {
  kind: string;
  name: string;
  version: number;
  digest: string;
  size: number;
  content: unknown;
  annotations: Record<string, string>;
  created_at: Date;
}

interface SetRow {
  id: string;
  components: Record<string, { kind: string; name: string; version: number; digest: string }>;
  code: { repo: string; commit: string } | null;
  description: string | null;
  created_by: string;
  created_at: Date;
}

const SQL = {
  versionByNumber: `select * from "artifacts" where "project" = $1 and "kind" = $2 and "name" = $3 and "version" = $4`,
  versionByDigest: `select * from "artifacts" where "project" = $1 and "kind" = $2 and "name" = $3 and "digest" = $4`,
  lockName: `select pg_advisory_xact_lock($1, hashtext($2))`,
  nextVersion: `select coalesce(max(version), 0) + 1 as "next" from "artifacts" where "project" = $1 and "kind" = $2 and "name" = $3`,
  insertArtifact: `insert into "artifacts" ("project", "kind", "name", "version", "digest", "size", "content", "annotations", "created_by") values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning *`,
  insertAudit: `insert into "audit_log" ("project", "actor", "actor_token_id", "action", "target", "before", "after", "trace_id", "client_address") values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
  webhooksFor: `select "id" from "webhooks" where "project" = $1 and $2 = any(events) order by "seq" for key share`,
  setById: `select * from "version_sets" where "project" = $1 and "id" = $2`,
  setsByIds: `select * from "version_sets" where "project" = $1 and "id" in ($2, $3)`,
  setIdsByIds: `select "id" from "version_sets" where "project" = $1 and "id" in ($2, $3)`,
  insertSet: `insert into "version_sets" ("project", "id", "components", "code", "description", "created_by") values ($1, $2, $3, $4, $5, $6) returning *`,
  environment: `select * from "environments" where "project" = $1 and "name" = $2`,
  history: `select * from "environment_history" where "project" = $1 and "environment" = $2 order by "revision" desc limit $3`,
};
/** The advisory-lock namespace of publishes (the registry's constant). */
const PUBLISH_LOCK = 7400001;

function send(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, JSON.stringify(body));
}

function sendText(res: ServerResponse, status: number, json: string): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(json) }).end(json);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

const traceId = () => createHash("md5").update(String(Math.random())).digest("hex");
const artifactView = (r: ArtifactRow) => ({ kind: r.kind, name: r.name, version: r.version, digest: r.digest, size: r.size, created_at: r.created_at.toISOString(), annotations: r.annotations });
const setView = (r: SetRow) => ({ id: r.id, components: r.components, code: r.code, description: r.description, created_by: r.created_by, created_at: r.created_at.toISOString() });

/** Keys sorted at every level: the canonical form the digest is taken over (enough for the bench's JSON). */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value);
}

async function inTransaction<T>(work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    const result = await work(client);
    await client.query("commit");
    return result;
  } catch (err) {
    await client.query("rollback");
    throw err;
  } finally {
    client.release();
  }
}

async function getVersion(res: ServerResponse, project: string, kind: string, name: string, version: number): Promise<void> {
  const { rows } = await pool.query<ArtifactRow>(SQL.versionByNumber, [project, kind, name, version]);
  const row = rows[0];
  if (!row) return send(res, 404, { code: "not_found" });
  send(res, 200, { ...artifactView(row), content: row.content });
}

async function publish(req: IncomingMessage, res: ServerResponse, project: string, kind: string, name: string): Promise<void> {
  const body = (await readJson(req)) as { content: unknown };
  const text = canonical(body.content);
  const digest = `sha256:${createHash("sha256").update(text).digest("hex")}`;
  const found = await pool.query<ArtifactRow>(SQL.versionByDigest, [project, kind, name, digest]);
  if (found.rows[0]) return send(res, 200, artifactView(found.rows[0]));
  const row = await inTransaction(async (c) => {
    await c.query("SET LOCAL lock_timeout = 4000");
    await c.query(SQL.lockName, [PUBLISH_LOCK, `${project}/${kind}/${name}`]);
    await c.query(SQL.versionByDigest, [project, kind, name, digest]);
    const next = (await c.query<{ next: number }>(SQL.nextVersion, [project, kind, name])).rows[0]!.next;
    const inserted = (await c.query<ArtifactRow>(SQL.insertArtifact, [project, kind, name, next, digest, Buffer.byteLength(text), text, "{}", ACTOR])).rows[0]!;
    await c.query(SQL.insertAudit, [project, ACTOR, "tok_bootstrap_admin", "artifact.publish", `${kind}/${name}@${next}`, null, JSON.stringify({ digest, version: next }), traceId(), req.socket.remoteAddress]);
    await c.query(SQL.webhooksFor, [project, "artifact.published"]);
    return inserted;
  });
  send(res, 201, artifactView(row));
}

async function createSet(req: IncomingMessage, res: ServerResponse, project: string): Promise<void> {
  const body = (await readJson(req)) as { components: Record<string, string>; code?: { repo: string; commit: string } };
  const slots = Object.entries(body.components).map(([slot, ref]) => {
    const [kindName, version] = ref.split("@") as [string, string];
    const [kind, name] = kindName.split("/") as [string, string];
    return { slot, kind, name, version: Number(version) };
  });
  const rows = await Promise.all(slots.map((s) => pool.query<ArtifactRow>(SQL.versionByNumber, [project, s.kind, s.name, s.version])));
  const components: SetRow["components"] = {};
  slots.forEach((s, i) => {
    const r = rows[i]!.rows[0]!;
    components[s.slot] = { kind: r.kind, name: r.name, version: r.version, digest: r.digest };
  });
  const code = body.code ? { repo: body.code.repo, commit: body.code.commit } : null;
  const id = `vs_${createHash("sha256").update(canonical({ components, code })).digest("hex").slice(0, 24)}`;
  const existing = await pool.query<SetRow>(SQL.setById, [project, id]);
  if (existing.rows[0]) return send(res, 200, setView(existing.rows[0]));
  const row = await inTransaction(async (c) => {
    const inserted = (await c.query<SetRow>(SQL.insertSet, [project, id, JSON.stringify(components), JSON.stringify(code), null, ACTOR])).rows[0]!;
    await c.query(SQL.insertAudit, [project, ACTOR, "tok_bootstrap_admin", "version_set.create", `version_set/${id}`, null, JSON.stringify({ components, code, description: null }), traceId(), req.socket.remoteAddress]);
    await c.query(SQL.webhooksFor, [project, "version_set.created"]);
    return inserted;
  });
  send(res, 201, setView(row));
}

/** Each pair's answer, built on its first request (the registry keeps its own the same way). */
const diffs = new Map<string, string>();

/**
 * Both ids read on every request (the registry's statement), the answer built once per pair. The
 * registry's diff also compares the changed artifacts' contents (from its cache); this one compares slots.
 */
async function diff(res: ServerResponse, project: string, from: string, to: string): Promise<void> {
  const { rows: ids } = await pool.query<{ id: string }>(SQL.setIdsByIds, [project, from, to]);
  if (!ids.some((r) => r.id === from) || !ids.some((r) => r.id === to)) return send(res, 404, { code: "not_found" });
  const key = `${project}/${from}/${to}`;
  let answer = diffs.get(key);
  if (answer === undefined) {
    answer = JSON.stringify(await slotDiff(project, from, to));
    diffs.set(key, answer);
  }
  sendText(res, 200, answer);
}

async function slotDiff(project: string, from: string, to: string): Promise<unknown> {
  const { rows } = await pool.query<SetRow>(SQL.setsByIds, [project, from, to]);
  const a = rows.find((r) => r.id === from)!;
  const b = rows.find((r) => r.id === to)!;
  const slots = [...new Set([...Object.keys(a.components), ...Object.keys(b.components)])].sort();
  const components = slots.map((slot) => {
    const x = a.components[slot];
    const y = b.components[slot];
    const change = !x ? "added" : !y ? "removed" : x.digest === y.digest ? "unchanged" : "changed";
    return { slot, change, from: x ?? null, to: y ?? null };
  });
  return { from, to, components, code: { from: a.code, to: b.code } };
}

async function history(res: ServerResponse, project: string, environment: string, limit: number): Promise<void> {
  const env = await pool.query(SQL.environment, [project, environment]);
  if (!env.rows[0]) return send(res, 404, { code: "not_found" });
  const { rows } = await pool.query<{ revision: number; at: Date } & Record<string, unknown>>(SQL.history, [project, environment, limit + 1]);
  const items = rows.slice(0, limit).map((r) => ({ ...r, at: r.at.toISOString() }));
  send(res, 200, { items, next_cursor: rows.length > limit ? String(items.at(-1)!.revision) : null });
}

const VERSION = /^\/v1\/projects\/([^/]+)\/artifacts\/([^/]+)\/([^/]+)\/versions\/(\d+)$/;
const ARTIFACT = /^\/v1\/projects\/([^/]+)\/artifacts\/([^/]+)\/([^/]+)$/;
const SETS = /^\/v1\/projects\/([^/]+)\/version-sets$/;
const DIFF = /^\/v1\/projects\/([^/]+)\/diff$/;
const HISTORY = /^\/v1\/projects\/([^/]+)\/environments\/([^/]+)\/history$/;

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.headers.authorization !== AUTH) return send(res, 401, { code: "unauthorized" });
  const url = new URL(req.url ?? "/", "http://bare");
  let m: RegExpExecArray | null;
  if (req.method === "GET" && (m = VERSION.exec(url.pathname))) return getVersion(res, m[1]!, m[2]!, m[3]!, Number(m[4]));
  if (req.method === "POST" && (m = ARTIFACT.exec(url.pathname))) return publish(req, res, m[1]!, m[2]!, m[3]!);
  if (req.method === "POST" && (m = SETS.exec(url.pathname))) return createSet(req, res, m[1]!);
  if (req.method === "GET" && (m = DIFF.exec(url.pathname))) return diff(res, m[1]!, url.searchParams.get("from") ?? "", url.searchParams.get("to") ?? "");
  if (req.method === "GET" && (m = HISTORY.exec(url.pathname))) return history(res, m[1]!, m[2]!, Number(url.searchParams.get("limit") ?? 50));
  send(res, 404, { code: "not_found" });
}

const server = createServer((req, res) => {
  route(req, res).catch((err: unknown) => {
    process.stderr.write(`bare routes: ${String(err)}\n`);
    if (!res.headersSent) send(res, 500, { code: "internal" });
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), "127.0.0.1", () => {
  process.stdout.write("bare routes listening\n");
});
process.on("SIGTERM", () => {
  server.close();
  void pool.end().then(() => process.exit(0));
});
