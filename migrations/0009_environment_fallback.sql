-- An environment's fallback set: what `POST …/environments/{env}/degrade` switches to.

ALTER TABLE environments ADD COLUMN fallback text;
ALTER TABLE environments ADD CONSTRAINT environments_fallback_fkey
  FOREIGN KEY (project, fallback) REFERENCES version_sets (project, id);
