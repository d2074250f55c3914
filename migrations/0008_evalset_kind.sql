-- Eval sets: a seventh artifact kind.

ALTER TABLE artifacts DROP CONSTRAINT artifacts_kind_check;
ALTER TABLE artifacts ADD CONSTRAINT artifacts_kind_check
  CHECK (kind IN ('prompt', 'contract', 'model', 'index', 'tools', 'config', 'evalset'));
