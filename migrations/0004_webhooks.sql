-- Webhooks: subscriptions, a durable outbox (one row per event and webhook, written in the
-- transaction of the change it announces) and the log of every delivery attempt.

CREATE TABLE webhooks (
  seq        bigserial   NOT NULL UNIQUE,
  id         text        PRIMARY KEY CHECK (id ~ '^wh_[0-9a-f]{24}$'),
  project    text        NOT NULL REFERENCES projects (name),
  url        text        NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2048),
  events     text[]      NOT NULL CHECK (cardinality(events) > 0),
  -- The HMAC-SHA256 key, stored as given: signing needs the key itself, so unlike a token it
  -- cannot be hashed. It is never returned by the API and never logged.
  secret     text        NOT NULL,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_project_seq ON webhooks (project, seq DESC);

-- One row per (event, webhook). `body` is the exact JSON text that is signed and sent, so every
-- retry carries identical bytes and the same signature. A worker claims a row by setting
-- `lease_until`; a worker that dies mid-delivery leaves a lease that simply expires.
CREATE TABLE webhook_outbox (
  seq             bigserial   PRIMARY KEY,
  id              text        NOT NULL UNIQUE,
  webhook_id      text        NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  project         text        NOT NULL,
  event           text        NOT NULL,
  body            text        NOT NULL,
  state           text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  -- Attempts finished so far.
  attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  lease_until     timestamptz,
  -- Names the current claim, so a worker whose lease expired cannot overwrite the outcome of
  -- the worker that claimed the row after it.
  claim           text,
  created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at     timestamptz
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_outbox_webhook ON webhook_outbox (webhook_id);

CREATE TABLE webhook_attempts (
  seq         bigserial   PRIMARY KEY,
  id          text        NOT NULL UNIQUE,
  delivery_id text        NOT NULL REFERENCES webhook_outbox (id) ON DELETE CASCADE,
  webhook_id  text        NOT NULL,
  event       text        NOT NULL,
  attempt     integer     NOT NULL CHECK (attempt >= 1),
  -- The receiver's HTTP status; NULL when no answer came (time-out, connection error).
  status_code integer,
  -- Why the attempt failed; NULL when it succeeded.
  error       text,
  duration_ms integer     NOT NULL,
  at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (delivery_id, attempt)
);
CREATE INDEX webhook_attempts_webhook_seq ON webhook_attempts (webhook_id, seq DESC);
