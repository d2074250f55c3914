-- Foundation: projects, content-addressed blobs and their per-project links, immutable
-- artifacts, tokens (hashed) and the append-only audit log.
-- Every listable table has a bigserial `seq` so lists can page newest-first by a stable key.

CREATE TABLE projects (
  seq         bigserial   NOT NULL UNIQUE,
  name        text        PRIMARY KEY,
  description text,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per stored object, shared by every project. A row exists only after the bytes
-- were verified and committed to the blob store.
CREATE TABLE blobs (
  digest     text        PRIMARY KEY CHECK (digest ~ '^sha256:[0-9a-f]{64}$'),
  size       bigint      NOT NULL CHECK (size >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- A project sees a blob only through a link, made when that project uploaded the bytes.
CREATE TABLE blob_links (
  seq        bigserial   NOT NULL UNIQUE,
  project    text        NOT NULL REFERENCES projects (name),
  digest     text        NOT NULL REFERENCES blobs (digest),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project, digest)
);

CREATE TABLE artifacts (
  seq         bigserial   NOT NULL UNIQUE,
  project     text        NOT NULL REFERENCES projects (name),
  kind        text        NOT NULL CHECK (kind IN ('prompt', 'contract', 'model', 'index', 'tools', 'config')),
  name        text        NOT NULL,
  version     integer     NOT NULL CHECK (version >= 1),
  digest      text        NOT NULL CHECK (digest ~ '^sha256:[0-9a-f]{64}$'),
  size        integer     NOT NULL,
  -- The canonical JSON text (RFC 8785) whose sha256 is `digest`, kept verbatim.
  content     text        NOT NULL,
  annotations jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_by  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project, kind, name, version),
  -- Identical content under one name is one version: the loser of a concurrent publish
  -- hits this constraint and returns the winner's row.
  UNIQUE (project, kind, name, digest)
);

CREATE TABLE tokens (
  seq          bigserial   NOT NULL UNIQUE,
  id           text        PRIMARY KEY,
  name         text        NOT NULL,
  -- sha256 of the secret; the secret itself is never stored.
  secret_hash  text        NOT NULL UNIQUE,
  scopes       text[]      NOT NULL,
  projects     text[]      NOT NULL,
  environments text[],
  expires_at   timestamptz,
  revoked_at   timestamptz,
  created_by   text,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
  seq            bigserial   PRIMARY KEY,
  project        text,
  at             timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor          text        NOT NULL,
  actor_token_id text,
  action         text        NOT NULL,
  target         text        NOT NULL,
  before         jsonb,
  after          jsonb,
  trace_id       text,
  client_address text
);
CREATE INDEX audit_log_project_seq ON audit_log (project, seq DESC);
