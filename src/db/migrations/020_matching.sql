-- The loop state of each recorded settlement (spec §4 "The loop"), as matching last computed it from
-- the ledger of facts. Derived data: any row can be recomputed from the facts at any time, so it is
-- an upsert target, never a source of truth. GET /v1/settlements computes the loop live; this table
-- serves set-based reads (reconciliation, dashboards) and the re-check schedule.
CREATE TABLE settlement_loops (
  setl_id         text PRIMARY KEY,
  status          text NOT NULL CHECK (status IN ('owed','closed','overdue','reversed','not_owed')),
  owed            numeric(16,2) NOT NULL,
  paid            numeric(16,2) NOT NULL,
  rejected        numeric(16,2) NOT NULL,
  recovered       numeric(16,2) NOT NULL,
  outstanding     numeric(16,2) NOT NULL,
  due_date        date NOT NULL,
  due_at          timestamptz NOT NULL,
  closed_at       timestamptz,
  admdvs          text NOT NULL,
  insurer_code    text NOT NULL,
  fixmedins_code  text NOT NULL,
  period          text NOT NULL,
  evaluated_at    timestamptz NOT NULL,
  -- when the result can change with no new fact (due date lapsing, grace expiring): the re-check time
  next_check_at   timestamptz
);
CREATE INDEX settlement_loops_region_period ON settlement_loops (admdvs, period);
CREATE INDEX settlement_loops_inst_period ON settlement_loops (fixmedins_code, insurer_code, period);
CREATE INDEX settlement_loops_status ON settlement_loops (status, due_at);
CREATE INDEX settlement_loops_next_check ON settlement_loops (next_check_at) WHERE next_check_at IS NOT NULL;

-- Matching finds what a message changed by its message_id (src/ledger/fact-loader.ts, affectedByMessages).
CREATE INDEX IF NOT EXISTS settlement_records_message ON settlement_records (message_id);
CREATE INDEX IF NOT EXISTS batches_message ON batches (message_id);
CREATE INDEX IF NOT EXISTS payments_message ON payments (message_id);
CREATE INDEX IF NOT EXISTS recoveries_message ON recoveries (message_id);
