-- Data lifecycle: retention settings, retired index versions, the blobs each artifact version
-- references, the garbage collector's claim on blob rows, and the record of its runs.
-- Artifact versions and version sets are never deleted: what is collected is bytes.

-- Absent row = the defaults (days 90, keep_last 20).
CREATE TABLE retention_settings (
  project    text        PRIMARY KEY REFERENCES projects (name),
  days       integer     NOT NULL CHECK (days >= 0),
  keep_last  integer     NOT NULL CHECK (keep_last >= 1),
  updated_by text,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- A retired version stays listed; its blobs no longer keep their bytes alive.
ALTER TABLE artifacts ADD COLUMN retired_at timestamptz;

-- Which blobs an artifact version references (index files), written in the publish
-- transaction. No foreign key to blobs: a retired version keeps its rows after the blob row is
-- collected, so reading that blob can answer 410 naming the version.
CREATE TABLE artifact_blobs (
  project text    NOT NULL,
  kind    text    NOT NULL,
  name    text    NOT NULL,
  version integer NOT NULL,
  digest  text    NOT NULL,
  PRIMARY KEY (project, kind, name, version, digest),
  FOREIGN KEY (project, kind, name, version) REFERENCES artifacts (project, kind, name, version)
);
CREATE INDEX artifact_blobs_digest ON artifact_blobs (digest);

INSERT INTO artifact_blobs (project, kind, name, version, digest)
SELECT a.project, a.kind, a.name, a.version, f.value ->> 'digest'
FROM artifacts a, jsonb_array_elements(a.content::jsonb -> 'files') AS f(value)
WHERE a.kind = 'index'
ON CONFLICT DO NOTHING;

-- touched_at: the last upload or link of the bytes (by any project); a blob touched within the
-- grace period is never collected. gc_claimed_at: set by a collection before it deletes the
-- bytes; from then on the bytes are not trusted (reads answer 404/410, an upload stores them
-- again and clears the claim, a publish clears it only after checking the bytes are there).
ALTER TABLE blobs ADD COLUMN touched_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE blobs ADD COLUMN gc_claimed_at timestamptz;
UPDATE blobs b SET touched_at = greatest(b.created_at, coalesce((SELECT max(l.created_at) FROM blob_links l WHERE l.digest = b.digest), b.created_at));
CREATE INDEX blobs_touched_at ON blobs (touched_at);
CREATE INDEX blobs_claimed ON blobs (gc_claimed_at) WHERE gc_claimed_at IS NOT NULL;
CREATE INDEX blob_links_digest ON blob_links (digest);

CREATE TABLE gc_runs (
  seq          bigserial   PRIMARY KEY,
  id           text        NOT NULL UNIQUE CHECK (id ~ '^gc_[0-9a-f]{24}$'),
  project      text,
  dry_run      boolean     NOT NULL,
  state        text        NOT NULL CHECK (state IN ('running', 'finished', 'failed', 'interrupted')),
  trigger      text        NOT NULL CHECK (trigger IN ('api', 'schedule')),
  actor        text,
  started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- Refreshed while the run works: a 'running' row whose heartbeat is older than the lease
  -- belongs to a process that died (kill -9) and is marked 'interrupted' by the next run.
  heartbeat_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at  timestamptz,
  report       jsonb,
  error        text
);
-- One collection at a time, across every instance.
CREATE UNIQUE INDEX gc_runs_one_running ON gc_runs ((true)) WHERE state = 'running';

-- Housekeeping deletes delivered outbox rows by age.
CREATE INDEX webhook_outbox_finished ON webhook_outbox (finished_at) WHERE state = 'delivered';
