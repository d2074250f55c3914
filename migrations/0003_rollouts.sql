-- Canary rollouts, the observations that gate them, the per-environment gate policy and the
-- evidence packs written about them. Every rollout step is also an environment revision (the
-- history row is written by the same transaction that updates the rollout row).

CREATE TABLE rollouts (
  seq            bigserial   NOT NULL UNIQUE,
  project        text        NOT NULL,
  -- 'ro_' + 24 random hex: it seeds the sticky assignment, so it never changes.
  id             text        NOT NULL CHECK (id ~ '^ro_[0-9a-f]{24}$'),
  environment    text        NOT NULL,
  stable         text        NOT NULL,
  candidate      text        NOT NULL CHECK (candidate <> stable),
  -- The percent in hundredths (1 % = 100): assignment compares buckets with exactly this number.
  basis_points   integer     NOT NULL CHECK (basis_points BETWEEN 1 AND 10000),
  allow          text[]      NOT NULL DEFAULT '{}',
  state          text        NOT NULL CHECK (state IN ('running', 'paused', 'promoted', 'aborted')),
  auto           boolean     NOT NULL DEFAULT false,
  -- The environment revision written by the rollout's latest step.
  revision       integer     NOT NULL,
  -- Evidence packs reserved so far: pack n of the rollout is named after n (see evidence.ts).
  evidence_count integer     NOT NULL DEFAULT 0 CHECK (evidence_count >= 0),
  created_by     text,
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  ended_at       timestamptz,
  PRIMARY KEY (project, id),
  FOREIGN KEY (project, environment) REFERENCES environments (project, name),
  FOREIGN KEY (project, stable) REFERENCES version_sets (project, id),
  FOREIGN KEY (project, candidate) REFERENCES version_sets (project, id)
);
-- One running or paused rollout per environment, whatever the application does.
CREATE UNIQUE INDEX rollouts_one_live ON rollouts (project, environment) WHERE state IN ('running', 'paused');
CREATE INDEX rollouts_environment ON rollouts (project, environment, seq DESC);

CREATE TABLE rollout_observations (
  seq              bigserial   NOT NULL UNIQUE,
  project          text        NOT NULL,
  id               text        NOT NULL CHECK (id ~ '^ob_[0-9a-f]{24}$'),
  environment      text        NOT NULL,
  rollout_id       text        NOT NULL,
  version_set      text        NOT NULL,
  side             text        NOT NULL CHECK (side IN ('stable', 'candidate')),
  window_start     timestamptz NOT NULL,
  window_end       timestamptz NOT NULL CHECK (window_end >= window_start),
  -- Flat metric name → number, as parsed by src/rollouts/metrics.ts.
  metrics          jsonb       NOT NULL,
  sample_trace_ids text[]      NOT NULL DEFAULT '{}',
  created_by       text,
  trace_id         text,
  created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (project, id),
  FOREIGN KEY (project, rollout_id) REFERENCES rollouts (project, id)
);
CREATE INDEX rollout_observations_rollout ON rollout_observations (project, rollout_id, window_end DESC, seq DESC);
CREATE INDEX rollout_observations_environment ON rollout_observations (project, environment, seq DESC);

-- Absent row = the default policy (API.md's table). `policy` is always complete and consistent.
CREATE TABLE gate_policies (
  project     text        NOT NULL,
  environment text        NOT NULL,
  policy      jsonb       NOT NULL,
  updated_by  text,
  updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (project, environment),
  FOREIGN KEY (project, environment) REFERENCES environments (project, name)
);

-- A pack's files are in the blob store under `location`; the row is inserted only after every
-- file (and the manifest) was written, so a listed pack is always complete.
CREATE TABLE evidence_packs (
  seq             bigserial   NOT NULL UNIQUE,
  project         text        NOT NULL,
  id              text        NOT NULL,
  environment     text        NOT NULL,
  rollout_id      text        NOT NULL,
  trigger         text        NOT NULL CHECK (trigger IN ('manual', 'promoted', 'aborted')),
  location        text        NOT NULL,
  -- [{"name","digest","size"}], the manifest last.
  files           jsonb       NOT NULL,
  manifest_digest text        NOT NULL,
  created_by      text,
  trace_id        text,
  created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (project, id),
  FOREIGN KEY (project, rollout_id) REFERENCES rollouts (project, id)
);
CREATE INDEX evidence_packs_rollout ON evidence_packs (project, rollout_id, seq);
