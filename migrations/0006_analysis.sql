-- Prometheus analysis: an environment's config (where its four lines live and how to read them),
-- the runs of the loop that reads them, and where an observation came from.

CREATE TABLE analysis_configs (
  project         text        NOT NULL,
  environment     text        NOT NULL,
  -- StoredAnalysisConfig (src/analysis/config.ts), header values included: never answered or logged.
  config          jsonb       NOT NULL,
  updated_by      text,
  updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- The loop's claim, moved by a compare-and-set so exactly one instance runs each window: the
  -- rollout last analysed and the end of its last window.
  last_rollout    text,
  last_window_end timestamptz,
  -- Runs in a row with an error, for this rollout; reset by a clean run and by a new rollout.
  consecutive_errors integer NOT NULL DEFAULT 0 CHECK (consecutive_errors >= 0),
  PRIMARY KEY (project, environment),
  FOREIGN KEY (project, environment) REFERENCES environments (project, name)
);

CREATE TABLE analysis_runs (
  seq          bigserial   NOT NULL UNIQUE,
  project      text        NOT NULL,
  environment  text        NOT NULL,
  rollout_id   text        NOT NULL,
  window_start timestamptz NOT NULL,
  window_end   timestamptz NOT NULL,
  status       text        NOT NULL CHECK (status IN ('ok', 'partial', 'failed')),
  duration_ms  integer     NOT NULL CHECK (duration_ms >= 0),
  -- [{side, key, field?, kind, message, query?}] (src/analysis/evaluate.ts AnalysisErrorRecord).
  errors       jsonb       NOT NULL DEFAULT '[]',
  warnings     jsonb       NOT NULL DEFAULT '[]',
  notes        jsonb       NOT NULL DEFAULT '[]',
  -- {"stable": "ob_…", "candidate": "ob_…"}: the observations the run recorded.
  observations jsonb       NOT NULL DEFAULT '{}',
  -- What the run did besides recording: null, or 'paused' (consecutive_error_limit reached).
  action       text,
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (project, seq),
  FOREIGN KEY (project, environment) REFERENCES environments (project, name)
);
CREATE INDEX analysis_runs_environment ON analysis_runs (project, environment, seq DESC);

-- 'push' (POST …/observations) or 'prometheus' (the loop, which also keeps the PromQL it sent).
ALTER TABLE rollout_observations ADD COLUMN source text NOT NULL DEFAULT 'push' CHECK (source IN ('push', 'prometheus'));
ALTER TABLE rollout_observations ADD COLUMN queries jsonb;
