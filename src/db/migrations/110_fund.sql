-- The fund year (spec §8, issue 16): premiums collected by tax, transfers between the fund's
-- accounts, and the insurers' yearly cost reports. Owned by src/ledger/fund-store.ts. Amounts are
-- numeric (yuan, 2 decimals); fund_year is the spec's `yyyy` text, period `yyyy-MM`; every row
-- carries the message that brought it (message_id, received_at: the known_at clock) and, for the
-- region-scoped kinds, who sent it (the sender's scope as it was then, like disbursements').

CREATE TABLE premium_collections (
  collection_id     text PRIMARY KEY,
  message_id        uuid NOT NULL,
  received_at       timestamptz NOT NULL,
  admdvs            text NOT NULL,            -- 6 digits: where collected
  fund_year         text NOT NULL,
  period            text NOT NULL,            -- the month collected
  payer_type        text NOT NULL CHECK (payer_type IN ('employer','employee','retiree','flexible','finance')),
  insured_count     integer NOT NULL CHECK (insured_count >= 0),
  amount            numeric(16,2) NOT NULL,
  late_fee          numeric(16,2) NOT NULL DEFAULT 0,
  collected_at      timestamptz NOT NULL,
  sender_client_id  text,
  sender_role       text,
  sender_scope      text[]
);
CREATE INDEX premium_collections_region_period ON premium_collections (admdvs, period);
CREATE INDEX premium_collections_region_year ON premium_collections (admdvs, fund_year);
CREATE INDEX premium_collections_message ON premium_collections (message_id);

-- An account-to-account movement of premiums (tax → treasury → special_account, county_account →
-- special_account, special_account → expenditure_account). admdvs and period name whose premiums
-- it moves (the region where collected and the month), so each account's received and passed_on
-- meet per region and period (the premium chain, src/fund/rules/).
CREATE TABLE fund_transfers (
  transfer_id       text PRIMARY KEY,
  message_id        uuid NOT NULL,
  received_at       timestamptz NOT NULL,
  admdvs            text NOT NULL,
  fund_year         text NOT NULL,
  period            text NOT NULL,
  from_account      text NOT NULL CHECK (from_account IN ('tax','treasury','county_account','special_account','expenditure_account')),
  to_account        text NOT NULL CHECK (to_account IN ('tax','treasury','county_account','special_account','expenditure_account')),
  amount            numeric(16,2) NOT NULL,
  transferred_at    timestamptz NOT NULL,
  bank_txn_no       text,
  sender_client_id  text,
  sender_role       text,
  sender_scope      text[]
);
CREATE INDEX fund_transfers_region_period ON fund_transfers (admdvs, period);
CREATE INDEX fund_transfers_region_year ON fund_transfers (admdvs, fund_year);
CREATE INDEX fund_transfers_message ON fund_transfers (message_id);

-- An insurer's operating and administration costs of a fund year in a region; revisions replace
-- earlier ones (the latest revision known counts, as spending plans').
CREATE TABLE insurer_cost_reports (
  insurer_code      text NOT NULL,
  admdvs            text NOT NULL,            -- 2–6 digit region prefix, as disbursements and plans name regions
  fund_year         text NOT NULL,
  revision          integer NOT NULL,
  message_id        uuid NOT NULL,
  received_at       timestamptz NOT NULL,
  operating_cost    numeric(16,2) NOT NULL,
  admin_cost        numeric(16,2),
  items             jsonb,
  reported_at       timestamptz NOT NULL,
  PRIMARY KEY (insurer_code, admdvs, fund_year, revision)
);
CREATE INDEX insurer_cost_reports_region_year ON insurer_cost_reports (admdvs, fund_year);
