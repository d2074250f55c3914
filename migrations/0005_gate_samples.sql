-- Issue 14: the statistical gate and the schedule that advances itself.
--
-- Observations keep their metrics in the same jsonb column; a metric's value there is now a
-- plain number or one of the sample forms (src/rollouts/analysis/samples.ts). Two new fields:
--   requests  requests this set served in the window (the sample-ratio check)
--   segments  {"<segment>": count} of those requests (the policy's required_segments)
ALTER TABLE rollout_observations
  ADD COLUMN requests bigint CHECK (requests >= 0),
  ADD COLUMN segments jsonb;

-- When the rollout's current percent took effect (its start, then each advance): a step bakes
-- from here and its samples pool over the observations recorded since. `resumed_at`: the latest
-- resume, from which a step's "not enough traffic" deadline counts again.
ALTER TABLE rollouts
  ADD COLUMN step_started_at timestamptz,
  ADD COLUMN resumed_at timestamptz;
UPDATE rollouts SET step_started_at = updated_at;
ALTER TABLE rollouts ALTER COLUMN step_started_at SET NOT NULL;
ALTER TABLE rollouts ALTER COLUMN step_started_at SET DEFAULT clock_timestamp();
-- The loop's scan: running rollouts that advance themselves.
CREATE INDEX rollouts_auto_running ON rollouts (seq) WHERE state = 'running' AND auto;
