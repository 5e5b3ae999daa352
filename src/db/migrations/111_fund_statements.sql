-- Fund-year statements (spec §8, issue 16): one row per statement asked for (POST /v1/fund-statements,
-- the nightly run, the CLI), computed by a job on the 'reconciliation' queue. Owned by src/fund/
-- (statement-store.ts). `figures` holds the region, insurer and account figures as the wire shows
-- them (amounts as strings); `opening_balance` is the one asked for (null: the previous fund year's
-- closing balance, read when the statement is computed).
CREATE TABLE fund_statements (
  statement_id     uuid PRIMARY KEY,
  admdvs           text NOT NULL,
  fund_year        integer NOT NULL,
  as_of            timestamptz NOT NULL,
  known_at         timestamptz,
  report_only      boolean NOT NULL DEFAULT false,
  opening_balance  numeric(18,2),
  status           text NOT NULL CHECK (status IN ('queued','running','completed','failed')),
  trigger          text NOT NULL CHECK (trigger IN ('api','nightly','cli')),
  requested_by     text NOT NULL,
  figures          jsonb,
  summary          jsonb,
  error            text,
  created_at       timestamptz NOT NULL,
  started_at       timestamptz,
  finished_at      timestamptz
);
CREATE INDEX fund_statements_region_year ON fund_statements (admdvs, fund_year, finished_at DESC);
