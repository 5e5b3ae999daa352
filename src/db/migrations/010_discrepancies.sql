-- The discrepancy ledger (spec §4): one open case per (code, subject_key), with an occurrence count,
-- auto-resolution and reopening; every change is an append-only, hash-chained audit event.

CREATE TABLE discrepancies (
  id               uuid PRIMARY KEY,
  code             text NOT NULL,
  severity         text NOT NULL CHECK (severity IN ('low','medium','high','critical')),
  status           text NOT NULL CHECK (status IN ('open','acknowledged','resolved')),
  resolution       text CHECK (resolution IN ('auto','manual')),
  admdvs           text NOT NULL,
  insurer_code     text NOT NULL,
  fixmedins_code   text,
  period           text NOT NULL,
  setl_id          text,
  subject_key      text NOT NULL,
  -- the evaluation that owns this case (e.g. setl:<setl_id>): an evaluation diffs its open cases by group
  group_key        text NOT NULL,
  expected_amount  numeric(18,2),
  actual_amount    numeric(18,2),
  difference       numeric(18,2),
  detail           text NOT NULL,
  evidence         jsonb NOT NULL,
  fingerprint      text NOT NULL,
  occurrences      integer NOT NULL DEFAULT 1,
  detected_at      timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  resolved_at      timestamptz,
  reopens          uuid REFERENCES discrepancies (id),
  note             text
);
CREATE UNIQUE INDEX discrepancies_one_open ON discrepancies (code, subject_key) WHERE status <> 'resolved';
CREATE INDEX discrepancies_group_open ON discrepancies (group_key) WHERE status <> 'resolved';
CREATE INDEX discrepancies_subject ON discrepancies (code, subject_key, detected_at DESC);
CREATE INDEX discrepancies_setl ON discrepancies (setl_id) WHERE setl_id IS NOT NULL;
CREATE INDEX discrepancies_region_period ON discrepancies (admdvs, period);
CREATE INDEX discrepancies_insurer ON discrepancies (insurer_code, id);
CREATE INDEX discrepancies_status_id ON discrepancies (status, id);

-- Append-only audit trail, hash-chained: hash = sha256(prev_hash || canonical event). Rows are
-- never updated or deleted (a trigger refuses it); `gateway verify-audit` checks the chain.
CREATE TABLE audit_events (
  seq             bigserial PRIMARY KEY,
  at              timestamptz NOT NULL DEFAULT now(),
  entity          text NOT NULL,            -- discrepancy | loop | …
  entity_id       text NOT NULL,
  action          text NOT NULL,            -- opened | updated | auto_resolved | acknowledged | resolved | reopened | …
  actor           text NOT NULL,            -- system | client id
  data            jsonb NOT NULL,
  prev_hash       text NOT NULL,
  hash            text NOT NULL
);
CREATE INDEX audit_events_entity ON audit_events (entity, entity_id, seq);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only';
END $$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
