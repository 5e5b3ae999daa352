-- Reconciliation runs (spec §5) and their stored report rows, plus the agency-pull cursor.

CREATE TABLE reconciliation_runs (
  run_id        uuid PRIMARY KEY,
  admdvs        text NOT NULL,                 -- 2–6 digit prefix
  period        text NOT NULL,
  as_of         timestamptz NOT NULL,
  status        text NOT NULL CHECK (status IN ('queued','running','completed','failed')),
  trigger       text NOT NULL CHECK (trigger IN ('api','nightly')),
  requested_by  text NOT NULL,                 -- client id, or 'scheduler'
  summary       jsonb,
  error         text,
  created_at    timestamptz NOT NULL,
  started_at    timestamptz,
  finished_at   timestamptz
);
-- A region-period never runs twice at once: a second request while one is queued or running gets
-- that run's id (see src/reconciliation/run-store.ts).
CREATE UNIQUE INDEX reconciliation_runs_one_active ON reconciliation_runs (admdvs, period) WHERE status IN ('queued','running');
CREATE INDEX reconciliation_runs_region_period ON reconciliation_runs (admdvs, period, created_at DESC);

CREATE TABLE reconciliation_institutions (
  run_id               uuid NOT NULL REFERENCES reconciliation_runs (run_id) ON DELETE CASCADE,
  fixmedins_code       text NOT NULL,
  declared_cnt         integer NOT NULL,
  declared_hifob       numeric(18,2) NOT NULL,
  recorded_cnt         integer NOT NULL,
  recorded_hifob       numeric(18,2) NOT NULL,
  recorded_direct_cnt  integer NOT NULL,
  recorded_direct_hifob numeric(18,2) NOT NULL,
  paid                 numeric(18,2) NOT NULL,
  rejected             numeric(18,2) NOT NULL,
  recovered            numeric(18,2) NOT NULL,
  outstanding          numeric(18,2) NOT NULL,
  balanced             boolean NOT NULL,
  PRIMARY KEY (run_id, fixmedins_code)
);

CREATE TABLE reconciliation_insurers (
  run_id           uuid NOT NULL REFERENCES reconciliation_runs (run_id) ON DELETE CASCADE,
  insurer_code     text NOT NULL,
  plan_revision    integer,
  plan_message_id  uuid,
  planned          numeric(18,2) NOT NULL,
  paid             numeric(18,2) NOT NULL,
  payments_count   integer NOT NULL,
  disbursed        numeric(18,2) NOT NULL,
  disbursements    jsonb NOT NULL DEFAULT '[]'::jsonb,   -- [{disbursement_id, message_id, amount}] (evidence)
  PRIMARY KEY (run_id, insurer_code)
);

-- Where the pull from the agency platform stands, per region prefix. Advanced in the same
-- transaction as the page's records, so a crash between pages never applies a page twice.
CREATE TABLE agency_pull_cursors (
  admdvs       text PRIMARY KEY,
  cursor       text,
  pages        bigint NOT NULL DEFAULT 0,
  records      bigint NOT NULL DEFAULT 0,
  rejected     bigint NOT NULL DEFAULT 0,
  last_errors  jsonb,
  updated_at   timestamptz NOT NULL
);
