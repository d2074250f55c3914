-- Incidents: opened by hand or by the gate and degrade, closed only with a regression set.

CREATE TABLE incidents (
  seq              bigserial   NOT NULL UNIQUE,
  id               text        PRIMARY KEY,
  project          text        NOT NULL,
  environment      text        NOT NULL,
  state            text        NOT NULL CHECK (state IN ('open', 'mitigated', 'closed')),
  severity         text        NOT NULL CHECK (severity IN ('sev1', 'sev2', 'sev3')),
  summary          text        NOT NULL,
  opened_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  opened_by        text        NOT NULL,
  -- The rollout whose gate opened it (or the first one linked to it), else null.
  rollout          text,
  -- The set deploys may go back to without acknowledging the incident: the active set once the
  -- loss was stopped (or when opened by hand).
  stable           text,
  -- The candidate's observations' sample trace ids: closing needs a regression case for one.
  sample_trace_ids jsonb       NOT NULL DEFAULT '[]'::jsonb,
  detected_at      timestamptz NOT NULL,
  mitigated_at     timestamptz,
  -- rollback | degrade | freeze | abort, with the environment revision that stopped the loss.
  mitigated_by     jsonb,
  -- [{at, author, text}], oldest first; links and acknowledgements are notes by their actor.
  notes            jsonb       NOT NULL DEFAULT '[]'::jsonb,
  closed_at        timestamptz,
  closed_by        text,
  -- {regression_set, summary} or {waived: true, reason}.
  resolution       jsonb,
  regression_set   text,
  FOREIGN KEY (project, environment) REFERENCES environments (project, name)
);
-- At most one incident is not closed per environment: concurrent auto-opens (two instances
-- acting on one rollback) collide here and the loser links to the winner.
CREATE UNIQUE INDEX incidents_one_open ON incidents (project, environment) WHERE state <> 'closed';
CREATE INDEX incidents_by_rollout ON incidents (project, rollout) WHERE rollout IS NOT NULL;
