-- The message log and the ledger of accepted facts. Facts are append-only: matching derives loop
-- states and discrepancies from them (later migrations), so any arrival order gives the same result.

CREATE TABLE messages (
  message_id      uuid PRIMARY KEY,
  kind            text NOT NULL,          -- agency_settlements | agency_disbursement | settlement_batch | insurer_payment | spending_plan | recovery
  client_id       text NOT NULL,
  business_key    text,                   -- NULL for the agency feed (its records are keyed one by one)
  webhook_id      text NOT NULL,
  body_sha256     text NOT NULL,          -- of the raw bytes as received
  content_sha256  text,                   -- of the canonical (RFC 8785) normalised message: idempotency compares this
  raw_body        bytea,                  -- kept for GATEWAY_RAW_BODY_RETENTION_DAYS; NULL for the feed (records kept row by row)
  content_type    text NOT NULL,
  body_bytes      integer NOT NULL,
  record_count    integer NOT NULL DEFAULT 1,
  status          text NOT NULL DEFAULT 'accepted' CHECK (status IN ('accepted','processing','processed','failed')),
  received_at     timestamptz NOT NULL DEFAULT now(),
  processed_at    timestamptz,
  errors          jsonb,
  request_id      text
);
CREATE UNIQUE INDEX messages_business_key ON messages (kind, business_key) WHERE business_key IS NOT NULL;
CREATE INDEX messages_received_at ON messages (received_at);

-- Standard Webhooks replay protection (spec §2): a webhook-id seen from the same client within 24 h
-- with a different body is refused.
CREATE TABLE webhook_ids (
  client_id    text NOT NULL,
  webhook_id   text NOT NULL,
  body_sha256  text NOT NULL,
  seen_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, webhook_id)
);
CREATE INDEX webhook_ids_seen_at ON webhook_ids (seen_at);

-- Transactional outbox: written in the same transaction as the message; the relay moves it to BullMQ.
CREATE TABLE outbox (
  id          bigserial PRIMARY KEY,
  message_id  uuid NOT NULL,
  queue       text NOT NULL,
  payload     jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  relayed_at  timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE relayed_at IS NULL;

-- Agency settlement records (setlinfo of 2207/2304; reversal 2208). One row per (setl_id, status):
-- the valid record and, once reversed, the reversal. A reversal is final whatever order they arrive in.
CREATE TABLE settlement_records (
  setl_id          text NOT NULL,
  status           text NOT NULL CHECK (status IN ('valid','reversed')),
  content_sha256   text NOT NULL,
  message_id       uuid NOT NULL,
  record_index     integer NOT NULL,
  received_at      timestamptz NOT NULL,
  mdtrt_id         text NOT NULL,
  psn_no           text NOT NULL,
  psn_name         text,
  certno           text,
  insutype         text NOT NULL,
  insuplc_admdvs   text NOT NULL,
  mdtrtarea_admvs  text NOT NULL,
  fixmedins_code   text NOT NULL,
  med_type         text NOT NULL,
  setl_time        timestamptz NOT NULL,
  period           text NOT NULL,
  medfee_sumamt    numeric(16,2) NOT NULL,
  inscp_scp_amt    numeric(16,2) NOT NULL,
  hifp_pay         numeric(16,2) NOT NULL,
  hifob_pay        numeric(16,2) NOT NULL,
  hifmi_pay        numeric(16,2),
  cvlserv_pay      numeric(16,2),
  maf_pay          numeric(16,2),
  oth_pay          numeric(16,2),
  fund_pay_sumamt  numeric(16,2) NOT NULL,
  acct_pay         numeric(16,2) NOT NULL,
  psn_cash_pay     numeric(16,2) NOT NULL,
  setldetail       jsonb,
  insurer_code     text NOT NULL,
  setl_mode        text NOT NULL CHECK (setl_mode IN ('direct','manual')),
  referral         boolean,
  PRIMARY KEY (setl_id, status)
);
CREATE INDEX settlement_records_region_period ON settlement_records (insuplc_admdvs, period);
CREATE INDEX settlement_records_inst_period ON settlement_records (fixmedins_code, insurer_code, period);
CREATE INDEX settlement_records_mdtrt ON settlement_records (mdtrt_id);
CREATE INDEX settlement_records_person ON settlement_records (psn_no, setl_time);

-- Institution monthly declarations (settlement batches).
CREATE TABLE batches (
  batch_id           text PRIMARY KEY,
  message_id         uuid NOT NULL,
  received_at        timestamptz NOT NULL,
  fixmedins_code     text NOT NULL,
  insurer_code       text NOT NULL,
  period             text NOT NULL,
  setl_cnt           integer NOT NULL,
  medfee_sumamt      numeric(16,2) NOT NULL,
  hifob_pay_sumamt   numeric(16,2) NOT NULL,
  replaces_batch_id  text
);
CREATE INDEX batches_inst_period ON batches (fixmedins_code, insurer_code, period);
CREATE INDEX batches_replaces ON batches (replaces_batch_id) WHERE replaces_batch_id IS NOT NULL;

CREATE TABLE batch_items (
  batch_id       text NOT NULL REFERENCES batches (batch_id),
  item_index     integer NOT NULL,
  setl_id        text NOT NULL,
  mdtrt_id       text NOT NULL,
  psn_no         text NOT NULL,
  setl_time      timestamptz NOT NULL,
  medfee_sumamt  numeric(16,2) NOT NULL,
  hifob_pay      numeric(16,2) NOT NULL,
  PRIMARY KEY (batch_id, setl_id)
);
CREATE INDEX batch_items_setl ON batch_items (setl_id);

-- Insurer payments and their lines (one payment may cover many settlements; a settlement may be
-- paid in instalments).
CREATE TABLE payments (
  insurer_code  text NOT NULL,
  payment_id    text NOT NULL,
  message_id    uuid NOT NULL,
  received_at   timestamptz NOT NULL,
  payee_type    text NOT NULL CHECK (payee_type IN ('institution','person')),
  payee_id      text NOT NULL,
  pay_time      timestamptz NOT NULL,
  bank_txn_no   text NOT NULL,
  pay_amount    numeric(16,2) NOT NULL,
  PRIMARY KEY (insurer_code, payment_id)
);
CREATE INDEX payments_pay_time ON payments (pay_time);

CREATE TABLE payment_lines (
  insurer_code        text NOT NULL,
  payment_id          text NOT NULL,
  line_no             integer NOT NULL,
  setl_id             text NOT NULL,
  paid_amount         numeric(16,2) NOT NULL,
  rejected_amount     numeric(16,2) NOT NULL DEFAULT 0,
  reject_reason_code  text,
  reject_reason       text,
  PRIMARY KEY (insurer_code, payment_id, line_no),
  FOREIGN KEY (insurer_code, payment_id) REFERENCES payments (insurer_code, payment_id)
);
CREATE INDEX payment_lines_setl ON payment_lines (setl_id);

CREATE TABLE recoveries (
  insurer_code  text NOT NULL,
  recovery_id   text NOT NULL,
  message_id    uuid NOT NULL,
  received_at   timestamptz NOT NULL,
  setl_id       text NOT NULL,
  amount        numeric(16,2) NOT NULL,
  reason_code   text NOT NULL,
  reason        text,
  recovered_at  timestamptz NOT NULL,
  PRIMARY KEY (insurer_code, recovery_id)
);
CREATE INDEX recoveries_setl ON recoveries (setl_id);

CREATE TABLE spending_plans (
  insurer_code    text NOT NULL,
  period          text NOT NULL,
  revision        integer NOT NULL,
  message_id      uuid NOT NULL,
  received_at     timestamptz NOT NULL,
  planned_amount  numeric(16,2) NOT NULL,
  items           jsonb,
  PRIMARY KEY (insurer_code, period, revision)
);

CREATE TABLE disbursements (
  disbursement_id  text PRIMARY KEY,
  message_id       uuid NOT NULL,
  received_at      timestamptz NOT NULL,
  insurer_code     text NOT NULL,
  period           text NOT NULL,
  amount           numeric(16,2) NOT NULL,
  disbursed_at     timestamptz NOT NULL
);
CREATE INDEX disbursements_insurer_period ON disbursements (insurer_code, period);
