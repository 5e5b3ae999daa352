-- The benefit audit's last result per settlement (spec §7), written by the benefit worker each time
-- it re-evaluates a person-year. It makes the run summary (checked / unchecked / deviations) a
-- set-based count and the settlement view's `benefit` a cheap read. The discrepancy cases stay the
-- record of what is wrong; this table only mirrors the engine's output.

CREATE TABLE settlement_benefits (
  setl_id           text PRIMARY KEY,
  -- person-year subject key (person:<region prefix>:<psn_no>:<year>): the unit of re-evaluation
  person_year       text NOT NULL,
  region            text NOT NULL,
  benefit_year      integer NOT NULL,
  admdvs            text NOT NULL,
  period            text NOT NULL,
  -- false for reversed settlements too (unchecked_reason 'reversed'); those are left out of summaries
  checked           boolean NOT NULL,
  unchecked_reason  text,
  expected_amount   numeric(16,2),
  actual_amount     numeric(16,2) NOT NULL,
  difference        numeric(16,2),
  tolerance         numeric(16,2),
  deviates          boolean NOT NULL DEFAULT false,
  -- derivationEvidence(): every number as a string
  derivation        jsonb,
  evaluated_at      timestamptz NOT NULL
);
CREATE INDEX settlement_benefits_person_year ON settlement_benefits (person_year);
CREATE INDEX settlement_benefits_region_period ON settlement_benefits (admdvs, period);
