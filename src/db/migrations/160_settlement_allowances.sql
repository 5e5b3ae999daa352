-- Issue 16: what the benefit rules, the yearly cap, a reversal or a duplicate reimbursement allow of each
-- settlement (spec §8 compliant payouts), as the fund-year statement last computed it with the pure
-- rules (src/fund/statement/payouts.ts) — so that the next statement adds them up in SQL and runs the
-- rules again only for the persons whose facts changed since (src/ledger/allowance-store.ts).
-- A row is stale, and its person computed again, when the rows of its settlement now differ from the
-- ones it was computed from (has_valid / has_reversed, the latest received_at), or when the region
-- files changed (fingerprint). A person with a manual settlement is not kept: whether it duplicates a
-- direct one depends on the other settlements of its visit, so such a person is computed every time.
CREATE TABLE settlement_allowances (
  setl_id text PRIMARY KEY,
  psn_no text NOT NULL,
  insurer_code text NOT NULL,
  insuplc_admdvs text NOT NULL,
  fixmedins_code text NOT NULL,
  setl_time timestamptz NOT NULL,
  setl_mode text NOT NULL,
  mdtrt_id text NOT NULL,
  has_valid boolean NOT NULL,
  has_reversed boolean NOT NULL,
  basis_at timestamptz NOT NULL,
  allowed numeric NOT NULL,
  why_limited text,
  fingerprint text NOT NULL,
  computed_at timestamptz NOT NULL
);
CREATE INDEX settlement_allowances_region_time ON settlement_allowances (insuplc_admdvs, setl_time);
