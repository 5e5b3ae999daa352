-- Issue 16: what each settlement allows and what it was paid, as the fund-year statement last computed
-- them with the pure rules (src/fund/statement/payouts.ts), so that the next statement adds them up in
-- SQL and runs the rules again only for the persons whose facts changed since
-- (src/ledger/allowance-store.ts).
--
-- settlement_allowances: one row per settlement a statement judged. allowed / why_limited: what the
-- benefit rules, the yearly cap, a reversal or a duplicate reimbursement allow; compliant / paid_own /
-- recovered_own / others: its payout figures as of an as_of in [valid_from, valid_until) (the times of
-- its payment lines and recoveries: a later as_of may count one more); valid_from null: not computed
-- (a settlement outside the statement's year, read for its person's benefit year). volatile: a person
-- with a manual settlement, judged every time (a duplicate depends on the other settlements of its visit).
CREATE TABLE settlement_allowances (
  setl_id text PRIMARY KEY,
  psn_no text NOT NULL,
  insurer_code text NOT NULL,
  insuplc_admdvs text NOT NULL,
  setl_time timestamptz NOT NULL,
  volatile boolean NOT NULL,
  allowed numeric NOT NULL,
  why_limited text,
  compliant numeric,
  paid_own numeric,
  paid_own_facts integer,
  recovered_own numeric,
  recoveries_own integer,
  -- other insurers' lines and recoveries on it (rare): [{insurer_code, paid, paid_facts, recovered, recoveries}]
  others jsonb,
  valid_from timestamptz,
  valid_until timestamptz,
  computed_at timestamptz NOT NULL
);
CREATE INDEX settlement_allowances_region_time ON settlement_allowances (insuplc_admdvs, setl_time);

-- What the stored rows of a reach (the benefit years a fund year touches, across a region's prefixes)
-- reflect: every fact visible in `snapshot` and received by `known_at`, under the region files `fingerprint`.
-- A fact not visible in it (committed later, whatever its received_at) or received after known_at is new.
CREATE TABLE allowance_bases (
  reach text PRIMARY KEY,
  snapshot text NOT NULL,
  known_at timestamptz NOT NULL,
  fingerprint text NOT NULL,
  computed_at timestamptz NOT NULL
);
-- The rows of the persons a statement judges again (their stored figures are taken out of the totals).
CREATE INDEX settlement_allowances_person ON settlement_allowances (psn_no);
-- The few settlements other insurers paid too.
CREATE INDEX settlement_allowances_others ON settlement_allowances (insuplc_admdvs, setl_time) WHERE others IS NOT NULL;
