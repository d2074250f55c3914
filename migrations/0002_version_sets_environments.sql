-- Version sets (immutable, content-derived ids) and environments (mutable pointers with an
-- append-only history). The pointer and its history row are always written in one transaction.

CREATE TABLE version_sets (
  seq         bigserial   NOT NULL UNIQUE,
  project     text        NOT NULL REFERENCES projects (name),
  id          text        NOT NULL CHECK (id ~ '^vs_[0-9a-f]{24}$'),
  -- {"<slot>": {"kind","name","version","digest"}}: pinned at creation, never changed.
  components  jsonb       NOT NULL,
  code        jsonb,
  description text,
  created_by  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project, id)
);

CREATE TABLE environments (
  seq        bigserial   NOT NULL UNIQUE,
  project    text        NOT NULL REFERENCES projects (name),
  name       text        NOT NULL,
  active     text,
  -- The compare-and-swap token: +1 with every change of the environment.
  revision   integer     NOT NULL DEFAULT 0 CHECK (revision >= 0),
  protected  boolean     NOT NULL DEFAULT false,
  frozen     boolean     NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project, name),
  FOREIGN KEY (project, active) REFERENCES version_sets (project, id)
);

CREATE TABLE environment_history (
  project        text        NOT NULL,
  environment    text        NOT NULL,
  revision       integer     NOT NULL,
  action         text        NOT NULL,
  -- The active set after the change, and the one before it.
  version_set    text,
  previous       text,
  actor          text        NOT NULL,
  actor_token_id text,
  reason         text,
  trace_id       text,
  detail         jsonb,
  at             timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (project, environment, revision),
  FOREIGN KEY (project, environment) REFERENCES environments (project, name)
);
CREATE INDEX environment_history_at ON environment_history (project, environment, at DESC);
