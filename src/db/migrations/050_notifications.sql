-- Outbound notifications (spec §6): subscribers, one delivery per (subscriber, event) with its
-- webhook-id fixed at creation, an attempt log, and the ops emergency stop.

CREATE TABLE subscribers (
  id               text PRIMARY KEY,             -- sub_<uuid> (API) or the name given in the subscribers file
  url              text NOT NULL,
  format           text NOT NULL CHECK (format IN ('json','dingtalk','wecom')),
  filter           jsonb NOT NULL DEFAULT '{}'::jsonb,   -- {codes?, severities?, insurer_code?}
  secret           text NOT NULL,                -- whsec_…: kept in clear because every attempt is HMAC-signed with it
  owner_client_id  text,                         -- the insurer client that registered its own callback; NULL for ops and the file
  source           text NOT NULL CHECK (source IN ('api','file')),
  enabled          boolean NOT NULL DEFAULT true,
  disabled_reason  text,
  disabled_at      timestamptz,
  -- first failure since the last success: a subscriber failing for days is disabled
  failing_since    timestamptz,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  -- soft delete: the delivery log keeps naming the subscriber
  deleted_at       timestamptz
);
CREATE INDEX subscribers_active ON subscribers (id) WHERE enabled AND deleted_at IS NULL;
CREATE INDEX subscribers_owner ON subscribers (owner_client_id) WHERE owner_client_id IS NOT NULL;

CREATE TABLE deliveries (
  id               text PRIMARY KEY,             -- the webhook-id (msg_<uuid>): retries, restarts and replays reuse it
  subscriber_id    text NOT NULL REFERENCES subscribers (id),
  event_key        text NOT NULL,                -- critical:<discrepancy id> | digest:<run or window>
  event_type       text NOT NULL,                -- discrepancy.critical | discrepancy.digest
  body             text NOT NULL,                -- the exact bytes sent, so every attempt signs and sends the same body
  status           text NOT NULL CHECK (status IN ('pending','sending','failed','delivered','dead','cancelled')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  lease_until      timestamptz,                  -- while 'sending': another worker must not send the same delivery
  last_attempt_at  timestamptz,
  last_status      integer,
  last_error       text,
  delivered_at     timestamptz,
  replays          integer NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  UNIQUE (subscriber_id, event_key)
);
CREATE INDEX deliveries_subscriber ON deliveries (subscriber_id, created_at DESC);
CREATE INDEX deliveries_status ON deliveries (status, next_attempt_at);

CREATE TABLE delivery_attempts (
  delivery_id  text NOT NULL REFERENCES deliveries (id),
  attempt_no   integer NOT NULL,
  replay_no    integer NOT NULL,
  at           timestamptz NOT NULL,
  status_code  integer,
  error        text,
  duration_ms  integer NOT NULL,
  PRIMARY KEY (delivery_id, replay_no, attempt_no)
);

-- One row: the emergency stop. Claims read it FOR SHARE, so once a stop commits no new attempt starts.
CREATE TABLE notification_control (
  id          boolean PRIMARY KEY DEFAULT true CHECK (id),
  stopped     boolean NOT NULL DEFAULT false,
  reason      text,
  changed_by  text,
  changed_at  timestamptz
);
INSERT INTO notification_control (id, stopped) VALUES (true, false);
